"""The ingestion DAGs: a dataset's raw rows in, validated into clean and rejected, its Asset updated.

penguins_ingest: the palmerpenguins package's data, once when the platform comes
up (idempotent: trigger it again to reload). covertype_ingest: the group's current
batch from data_api, on a schedule (every 5 minutes by default, like data_api's
batches). Both end in validate_and_publish (shared_tasks).

covertype_ingest also closes the monitoring loop: score_batch
measures the production version on the batch's clean rows before anything
trains on them, and check_retrain updates the retraining Asset that
covertype_train is scheduled on when the monitor finds a reason.
"""

from __future__ import annotations

from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.orchestration.defaults import DEFAULT_ARGS, START_DATE
from mlops_pipelines.orchestration.monitor_tasks import check_retrain, retrain_params, score_batch
from mlops_pipelines.orchestration.shared_tasks import validate_and_publish
from mlops_pipelines.settings import settings


def build_penguins_ingest():
    from airflow.sdk import dag, task

    @dag(
        dag_id="penguins_ingest",
        # The package's data never changes: load it once when the platform comes up;
        # trigger by hand to reload (idempotent).
        schedule="@once",
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["penguins", "ingestion"],
        doc_md="Palmer penguins: raw data from the palmerpenguins package -> penguins_raw -> clean/rejected.",
    )
    def penguins_ingest():
        @task
        def ingest_raw() -> dict:
            from mlops_pipelines.ingestion import ingest_penguins
            from mlops_pipelines.orchestration.resources import data_engine

            return ingest_penguins(data_engine())

        validate_and_publish(PENGUINS, ingest_raw())

    return penguins_ingest()


def build_covertype_ingest():
    from airflow.sdk import Param, dag, get_current_context, task
    from airflow.sdk.exceptions import AirflowSkipException

    @dag(
        dag_id="covertype_ingest",
        schedule=settings().covertype_ingest_schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={
            "group_number": Param(
                settings().covertype_group_number,
                type="integer",
                minimum=1,
                description="data_api group whose batches this platform ingests",
            ),
            **retrain_params(),
        },
        tags=["covertype", "ingestion"],
        doc_md=(
            "Covertype: the group's current batch from data_api -> covertype_raw -> clean/rejected; "
            "the batch scored by the production model (model_quality); covertype_retrain updated when the monitor finds a reason."
        ),
    )
    def covertype_ingest():
        @task
        def ingest_raw() -> dict:
            from mlops_pipelines.ingestion import ingest_covertype
            from mlops_pipelines.orchestration.resources import data_api_url, data_engine

            group = get_current_context()["params"]["group_number"]
            counts = ingest_covertype(data_engine(), data_api_url(), group)
            if counts.get("exhausted"):
                # The end of the source is not a failure: this run has nothing to ingest, and
                # every task after this one skips or runs without this task's result.
                raise AirflowSkipException(f"data_api group {group} delivered its last batch ({counts['batch_number']}): nothing to ingest")
            return counts

        raw = ingest_raw()
        published = validate_and_publish(COVERTYPE, raw, before_publish=lambda counts: score_batch(COVERTYPE, raw, counts))
        published >> check_retrain(COVERTYPE)

    return covertype_ingest()
