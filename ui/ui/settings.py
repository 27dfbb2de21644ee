"""Addresses the UI needs, from the environment (UI_INFERENCE_URL, UI_AIRFLOW_URL, UI_MLFLOW_URL,
UI_INFERENCE_API_KEY, UI_PROMETHEUS_URL, UI_MONITOR_DB_*, UI_MONITORING_HOURS)."""

from urllib.parse import quote_plus

from pydantic import Field, field_validator
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
    # The Monitoring tab: Prometheus's HTTP API (called by the server) ...
    prometheus_url: str = "http://prometheus:9090"
    # ... and the monitoring tables through MySQL's select-only user. A full
    # SQLAlchemy URL in monitor_db_url wins over the parts.
    monitor_db_url: str = ""
    monitor_db_host: str = "mysql"
    monitor_db_port: int = 3306
    monitor_db_name: str = "mlops_data"
    monitor_db_user: str = "monitor_reader"
    monitor_db_password: str = "change-me-monitor"
    # How far back the Monitoring tab's time charts reach.
    monitoring_hours: float = Field(default=6.0, gt=0, le=24 * 30)

    @field_validator("inference_url", "airflow_url", "mlflow_url", "prometheus_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    def monitor_db_sqlalchemy_url(self) -> str:
        if self.monitor_db_url:
            return self.monitor_db_url
        return (
            f"mysql+pymysql://{quote_plus(self.monitor_db_user)}:{quote_plus(self.monitor_db_password)}"
            f"@{self.monitor_db_host}:{self.monitor_db_port}/{self.monitor_db_name}?charset=utf8mb4"
        )
