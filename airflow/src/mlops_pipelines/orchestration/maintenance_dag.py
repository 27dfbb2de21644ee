"""platform_maintenance: the daily retention DAG (MAINTENANCE_SCHEDULE).

The *_KEEP_* settings are the defaults of the DAG's Params (a manual run may
pass others). Four tasks, each logging what it deleted (mlops_pipelines.maintenance):

- prune_registry: per registered model, the oldest versions beyond
  REGISTRY_KEEP_VERSIONS that hold no alias (a version with an alias is never deleted).
- prune_runs: training runs older than RUNS_KEEP_DAYS whose model is not
  registered, and their logged models (MLflow soft delete; `scripts/retention.sh`
  runs `mlflow gc` in the mlflow container to remove their artifacts).
- prune_predictions: rows of the predictions and shadow_predictions tables
  older than PREDICTIONS_KEEP_DAYS, in chunks of PREDICTIONS_DELETE_CHUNK rows.
- prune_task_logs: Airflow task log files older than AIRFLOW_LOGS_KEEP_DAYS
  (the metadata rows: `airflow db clean`, also in `scripts/retention.sh`).
"""

from __future__ import annotations

from mlops_pipelines.orchestration.defaults import DEFAULT_ARGS, START_DATE
from mlops_pipelines.settings import settings

DAG_ID = "platform_maintenance"


def maintenance_params() -> dict:
    """What is kept, defaulting to the settings; a manual run may ask for less (or more)."""
    from airflow.sdk import Param

    return {
        "registry_keep_versions": Param(
            settings().registry_keep_versions,
            type="integer",
            minimum=1,
            description="versions kept per registered model (aliased ones always)",
        ),
        "runs_keep_days": Param(
            settings().runs_keep_days,
            type="number",
            exclusiveMinimum=0,
            description="days kept of training runs whose model is not registered",
        ),
        "predictions_keep_days": Param(
            settings().predictions_keep_days, type="number", exclusiveMinimum=0, description="days kept of rows in the predictions table"
        ),
        "airflow_logs_keep_days": Param(
            settings().airflow_logs_keep_days, type="integer", minimum=1, description="days kept of Airflow task log files"
        ),
    }


def build_maintenance_dag():
    from airflow.sdk import dag, get_current_context, task

    def param(name: str):
        return get_current_context()["params"][name]

    @dag(
        dag_id=DAG_ID,
        schedule=settings().maintenance_schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params=maintenance_params(),
        tags=["maintenance"],
        doc_md=__doc__,
    )
    def platform_maintenance():
        @task
        def prune_registry() -> dict:
            from mlflow import MlflowClient
            from mlops_pipelines.maintenance import prune_registry

            return prune_registry(MlflowClient(), param("registry_keep_versions"))

        @task
        def prune_runs() -> dict:
            from mlflow import MlflowClient
            from mlops_pipelines.maintenance import prune_runs

            return prune_runs(MlflowClient(), param("runs_keep_days"))

        @task
        def prune_predictions() -> int:
            from mlops_pipelines.maintenance import PREDICTION_TABLES, prune_predictions
            from mlops_pipelines.orchestration.resources import data_engine

            engine, keep_days, chunk = data_engine(), param("predictions_keep_days"), settings().predictions_delete_chunk
            return sum(prune_predictions(engine, keep_days, chunk, table=table) for table in PREDICTION_TABLES)

        @task
        def prune_task_logs() -> int:
            from airflow.sdk import conf

            from mlops_pipelines.maintenance import prune_log_files

            return len(prune_log_files(conf.get("logging", "base_log_folder"), param("airflow_logs_keep_days")))

        # Versions first: a run whose version was just deleted is then no longer registered.
        prune_registry() >> prune_runs()
        prune_predictions()
        prune_task_logs()

    return platform_maintenance()
