"""Configuration from the environment (prefix INFERENCE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# A registered model's name is its dataset's with this suffix (the training DAGs name them so).
MODEL_SUFFIX = "-classifier"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INFERENCE_")

    mlflow_tracking_uri: str = "http://mlflow:5000"
    # Registered models served, comma-separated; the dataset route of each is the
    # name without "-classifier" (POST /predict/penguins -> penguins-classifier).
    models: str = "penguins-classifier,covertype-classifier"
    # The models behind the original clients' routes (POST /predict, POST /predict/batch,
    # GET /model/info): the penguin service's and the Covertype course UI's.
    penguins_model: str = "penguins-classifier"
    covertype_model: str = "covertype-classifier"
    production_alias: str = "production"
    # How often the registry is asked whether production moved to another version.
    refresh_seconds: float = Field(10.0, gt=0)
    max_batch_rows: int = Field(1000, ge=1)
    # Bodies over this get a 413 before they are parsed. A 1000-row Covertype batch
    # is about 0.4 MB of JSON: 2 MB leaves room for pretty-printed or verbose bodies.
    max_body_bytes: int = Field(2_000_000, ge=1024)
    # Versions other than production kept loaded (least recently used go first).
    cache_size: int = Field(4, ge=1)
    # MLflow calls must fail fast: a down registry must not stall the refresher.
    mlflow_timeout_seconds: float = Field(10.0, gt=0)
    # Comma-separated bearer keys for the predict routes; empty: open (inference.api_keys).
    api_keys: str = ""

    @property
    def model_names(self) -> list[str]:
        return [name.strip() for name in self.models.split(",") if name.strip()]

    @staticmethod
    def dataset_of(name: str) -> str:
        return name.removesuffix(MODEL_SUFFIX)

    @property
    def datasets(self) -> dict[str, str]:
        return {self.dataset_of(name): name for name in self.model_names}
