"""The platform's own settings for its DAGs, from the environment (pydantic-settings, as in every service).

Airflow's settings stay Airflow's (AIRFLOW__*); connections come from Airflow
connections (see resources). These are the few the platform adds.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PipelineSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # When covertype_ingest fetches a batch (cron); "none" turns the schedule off (manual runs only).
    covertype_ingest_schedule: str | None = "*/5 * * * *"
    # The data_api group whose batches this platform ingests (the DAG's default Param).
    covertype_group_number: int = Field(1, ge=1)

    @field_validator("covertype_ingest_schedule")
    @classmethod
    def _off_means_none(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return None if value.lower() in ("", "none", "null") else value


@lru_cache(maxsize=1)
def settings() -> PipelineSettings:
    """Read once per process: DAG files are parsed often."""
    return PipelineSettings()
