"""Addresses the UI needs, from the environment (UI_INFERENCE_URL, UI_AIRFLOW_URL, UI_MLFLOW_URL, UI_INFERENCE_API_KEY)."""

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UI_", frozen=True)

    # Called by the Streamlit server, so a container-network address.
    inference_url: str = "http://inference:8989"
    # Opened by the person's browser, so host addresses.
    airflow_url: str = "http://localhost:8080"
    mlflow_url: str = "http://localhost:5000"
    # One of inference's INFERENCE_API_KEYS, sent as a bearer token; empty: none.
    inference_api_key: str = ""

    @field_validator("inference_url", "airflow_url", "mlflow_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")
