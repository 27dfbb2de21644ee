"""Palmer penguins: raw data from the palmerpenguins package -> penguins_raw -> clean/rejected."""

from airflow.sdk import dag, task

from mlops_pipelines.contracts import PENGUINS
from mlops_pipelines.dag_defaults import DEFAULT_ARGS, START_DATE
from mlops_pipelines.dag_tasks import validate_and_publish


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
    doc_md=__doc__,
)
def penguins_ingest():
    @task
    def ingest_raw() -> dict:
        from mlops_pipelines.ingestion import ingest_penguins
        from mlops_pipelines.resources import data_engine

        return ingest_penguins(data_engine())

    validate_and_publish(PENGUINS, ingest_raw())


penguins_ingest()
