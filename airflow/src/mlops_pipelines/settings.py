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

    # execution_timeout of the training tasks that fit models (train_candidate,
    # refit_best) and of the others (prepare, list_candidates, register_best):
    # a task hung on a dead service fails and retries instead of holding the
    # DAG (max_active_runs=1) for ever.
    training_fit_timeout_minutes: int = Field(120, ge=1)
    training_step_timeout_minutes: int = Field(30, ge=1)
    # Candidates cross-validated at the same time in one training run (one task
    # slot and one core each): 2 fits this 2-core machine; with Celery workers,
    # up to the workers' slots together (docs/scaling.md).
    training_candidates_at_once: int = Field(2, ge=1)

    # platform_maintenance (daily, MAINTENANCE_SCHEDULE; "none" turns it off).
    maintenance_schedule: str | None = "@daily"
    # Versions kept per registered model: the oldest beyond this that hold no alias are deleted.
    registry_keep_versions: int = Field(20, ge=1)
    # Training runs older than this whose model is not registered are deleted (then `mlflow gc`).
    runs_keep_days: float = Field(30, gt=0)
    # Rows of the predictions table older than this are deleted, in chunks of predictions_delete_chunk.
    predictions_keep_days: float = Field(30, gt=0)
    predictions_delete_chunk: int = Field(5000, ge=1)
    # Airflow's task log files and metadata rows (airflow db clean) older than this are deleted.
    airflow_logs_keep_days: int = Field(30, ge=1)

    # monitor_drift: when it runs (cron or preset; "none": manual only) and the hours it looks back.
    monitor_drift_schedule: str | None = "@hourly"
    monitor_drift_window_hours: float = Field(24.0, gt=0)
    # A drift check compares a feature only with at least this many rows on each side
    # (bench/drift_false_alarms.py measures the choice; monitoring.drift).
    drift_min_rows: int = Field(50, ge=1)
    # When the monitor fires covertype_train (the retraining Asset); see monitoring.retrain.
    retrain_accuracy_margin: float = Field(0.05, ge=0, le=1)
    retrain_accuracy_batches: int = Field(3, ge=1)
    retrain_drift_share: float = Field(0.5, ge=0, le=1)
    retrain_min_new_rows_fraction: float = Field(0.2, gt=0)
    # A reason fired this recently, with no version registered since, is still being acted on.
    retrain_pending_minutes: float = Field(120.0, ge=0)
    # A challenger still open (undecided, or `promote` with nobody promoting it) this long after its
    # registration expires: it no longer holds back the next trigger.
    retrain_challenger_hours: float = Field(24.0, gt=0)

    # Champion against challenger (comparison.py): the accuracy gain (a fraction) whose whole 95 %
    # interval must lie above it to recommend `promote`; rows neither version trained on before
    # any recommendation, and after which a challenger not shown better is `keep`; bootstrap resamples.
    challenger_margin: float = Field(0.0, ge=0, le=1)
    challenger_min_rows: int = Field(200, ge=1)
    challenger_max_rows: int = Field(5000, ge=1)
    challenger_resamples: int = Field(1000, ge=100)

    @field_validator("covertype_ingest_schedule", "monitor_drift_schedule", "maintenance_schedule")
    @classmethod
    def _off_means_none(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return None if value.lower() in ("", "none", "null") else value


@lru_cache(maxsize=1)
def settings() -> PipelineSettings:
    """Read once per process: DAG files are parsed often."""
    return PipelineSettings()
