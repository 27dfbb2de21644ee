"""Covertype: the group's current batch from data_api -> covertype_raw -> clean/rejected."""

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.dag_defaults import DEFAULT_ARGS, START_DATE
from mlops_pipelines.dag_tasks import validate_and_publish
from mlops_pipelines.settings import settings


@dag(
    dag_id="covertype_ingest",
    # data_api moves to the next batch every 5 minutes by default.
    schedule=settings().covertype_ingest_schedule,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "group_number": Param(
            settings().covertype_group_number, type="integer", minimum=1,
            description="data_api group whose batches this platform ingests",
        ),
    },
    tags=["covertype", "ingestion"],
    doc_md=__doc__,
)
def covertype_ingest():
    @task
    def ingest_raw() -> dict:
        from mlops_pipelines.ingestion import ingest_covertype
        from mlops_pipelines.resources import data_api_url, data_engine
        from mlops_pipelines.sources import DataExhausted

        group = get_current_context()["params"]["group_number"]
        try:
            return ingest_covertype(data_engine(), data_api_url(), group)
        except DataExhausted as exc:
            raise AirflowSkipException(f"data_api has no more batches for group {group}: {exc}") from exc

    validate_and_publish(COVERTYPE, ingest_raw())


covertype_ingest()
