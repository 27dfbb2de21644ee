"""Palmer penguins: raw data from the palmerpenguins package -> penguins_raw -> clean/rejected."""

from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowSkipException

from mlops_pipelines.contracts import PENGUINS
from mlops_pipelines.dag_defaults import DEFAULT_ARGS, START_DATE, clean_asset


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

    @task
    def validate_and_clean() -> dict:
        from mlops_pipelines.ingestion import clean
        from mlops_pipelines.resources import data_engine

        return clean(data_engine(), PENGUINS)

    @task(outlets=[clean_asset(PENGUINS.name)])
    def publish_clean(counts: dict) -> dict:
        if not counts["clean"]:
            raise AirflowSkipException("no new clean rows: the clean-data asset is not updated")
        return counts

    counts = validate_and_clean()
    ingest_raw() >> counts
    publish_clean(counts)


penguins_ingest()
