"""Configuration from the environment (prefix INFERENCE_; the prediction log's without it)."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

# A registered model's name is its dataset's with this suffix (the training DAGs name them so).
MODEL_SUFFIX = "-classifier"


class Settings(BaseSettings):
    # validate_by_name: tests and scripts pass the prediction log's settings by field name.
    model_config = SettingsConfigDict(env_prefix="INFERENCE_", validate_by_name=True, validate_by_alias=True)

    mlflow_tracking_uri: str = "http://mlflow:5000"
    # Registered models served, comma-separated; the dataset route of each is the
    # name without "-classifier" (POST /predict/penguins -> penguins-classifier).
    models: str = "penguins-classifier,covertype-classifier"
    # The models behind the original clients' routes (POST /predict, POST /predict/batch,
    # GET /model/info): the penguin service's and the Covertype course UI's.
    penguins_model: str = "penguins-classifier"
    covertype_model: str = "covertype-classifier"
    production_alias: str = "production"
    # The alias of a trained version not promoted yet (contract/conventions.json): with
    # shadow on, it is kept loaded beside production and scored on production's traffic.
    challenger_alias: str = "challenger"
    # How often the registry is asked whether production moved to another version.
    refresh_seconds: float = Field(10.0, gt=0)
    # At start, the process takes no connection (uvicorn listens after the lifespan's
    # start-up) until it has tried to load the production models, for at most this
    # long: a replica restarted behind the load balancer answers with its models,
    # not 503. With MLflow down it starts anyway and catches up.
    startup_load_seconds: float = Field(30.0, ge=0)
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
    # With PLATFORM_ENV=production, no keys means no start unless this says the service is meant to be open.
    public: bool = False
    platform_env: str = Field("", validation_alias=AliasChoices("PLATFORM_ENV", "INFERENCE_PLATFORM_ENV"))

    # --- promotions (inference.promotions): MLflow's alias webhooks, the alias history, replicas following it.
    # Shared with the MLflow server, which signs its webhooks with it (HMAC-SHA256). Empty:
    # the installation's, which mlflow generates into this file (a volume mounted read-only).
    webhook_secret: str = ""
    webhook_secret_file: str = ""
    # A signed delivery older (or newer) than this is refused: a recorded one cannot be replayed later.
    webhook_max_age_seconds: int = Field(300, ge=1)
    # How often every replica looks for alias moves another replica recorded (one indexed query).
    moves_watch_seconds: float = Field(0.5, gt=0)

    # --- shadow scoring (inference.shadow): the challenger on production's live traffic, off the request path.
    # off: no challenger loaded, nothing queued or scored.
    shadow: Literal["on", "off"] = "on"
    # Rows waiting to be scored at most; a request whose rows do not fit is not scored (counted, queue_full).
    shadow_queue_rows: int = Field(10_000, ge=1)
    # The share of production's requests scored (whole requests).
    shadow_sample: float = Field(1.0, ge=0.0, le=1.0)
    # Rows scored in one predict_proba call at most: many requests' rows go together.
    shadow_batch_rows: int = Field(500, ge=1)
    # Rows a second scored at most, per process (0: no limit). Bounds what the challenger costs
    # production whatever the traffic; rows over it are not scored (counted, rate_limit).
    shadow_max_rows_per_second: float = Field(500.0, ge=0.0)

    # --- the prediction log (inference.prediction_log): every prediction into mlops_data.predictions.
    # Named as the compose file and .env.example name them: PREDICTION_LOG*, PREDICTIONS_DB_*.
    # off: no writer, no database connection.
    prediction_log: Literal["on", "off"] = Field("on", validation_alias=AliasChoices("PREDICTION_LOG", "INFERENCE_PREDICTION_LOG"))
    # The share of requests recorded (whole requests: a batch is all or nothing).
    prediction_log_sample: float = Field(1.0, ge=0.0, le=1.0, validation_alias="PREDICTION_LOG_SAMPLE")
    # A full SQLAlchemy URL; empty: built from the PREDICTIONS_DB_* settings below.
    prediction_log_db_url: str = Field("", validation_alias="PREDICTION_LOG_DB_URL")
    predictions_db_host: str = Field("mysql", validation_alias="PREDICTIONS_DB_HOST")
    predictions_db_port: int = Field(3306, ge=1, le=65535, validation_alias="PREDICTIONS_DB_PORT")
    predictions_db_name: str = Field("mlops_data", validation_alias="PREDICTIONS_DB_NAME")
    # The MySQL user that may only insert into predictions (mysql/init, granted by airflow-init).
    predictions_db_user: str = Field("predictions_writer", validation_alias="PREDICTIONS_DB_USER")
    predictions_db_password: str = Field("change-me-predictions", validation_alias="PREDICTIONS_DB_PASSWORD")
    # Rows waiting to be written at most; a request whose rows do not fit is dropped (counted, queue_full).
    prediction_log_queue_rows: int = Field(100_000, ge=1, validation_alias="PREDICTION_LOG_QUEUE_ROWS")
    # A flush every this many seconds, or as soon as this many rows wait.
    prediction_log_flush_seconds: float = Field(1.0, gt=0, validation_alias="PREDICTION_LOG_FLUSH_SECONDS")
    prediction_log_batch_rows: int = Field(1000, ge=1, validation_alias="PREDICTION_LOG_BATCH_ROWS")
    # Tries of one flush before its rows are dropped (counted, db_error).
    prediction_log_attempts: int = Field(3, ge=1, validation_alias="PREDICTION_LOG_ATTEMPTS")
    # Connecting, reading and writing: a slow or vanished MySQL must not hold the writer for long.
    prediction_log_db_timeout_seconds: int = Field(5, ge=1, validation_alias="PREDICTION_LOG_DB_TIMEOUT_SECONDS")

    @property
    def predictions_db_url(self) -> URL:
        if self.prediction_log_db_url:
            return make_url(self.prediction_log_db_url)
        return URL.create(
            "mysql+pymysql",
            username=self.predictions_db_user,
            password=self.predictions_db_password,
            host=self.predictions_db_host,
            port=self.predictions_db_port,
            database=self.predictions_db_name,
        )

    # Cached: read on every request.
    @cached_property
    def model_names(self) -> list[str]:
        return [name.strip() for name in self.models.split(",") if name.strip()]

    @staticmethod
    def dataset_of(name: str) -> str:
        return name.removesuffix(MODEL_SUFFIX)

    @cached_property
    def datasets(self) -> dict[str, str]:
        return {self.dataset_of(name): name for name in self.model_names}


class ProductionRefusal(RuntimeError):
    """PLATFORM_ENV=production and a setting that would leave the service open to anyone."""


def check_production(settings: Settings) -> None:
    """With PLATFORM_ENV=production, refuse to start open to anyone unless INFERENCE_PUBLIC=1 says so."""
    if settings.platform_env != "production":
        return
    if not settings.api_keys.strip() and not settings.public:
        raise ProductionRefusal(
            "refusing to start: PLATFORM_ENV=production and no INFERENCE_API_KEYS; set keys "
            "(scripts/make-env.sh writes one), or INFERENCE_PUBLIC=1 if this service is meant to be open"
        )
