"""Task groups that several DAGs share; call them inside a `@dag` function."""

from __future__ import annotations

from airflow.sdk import task
from airflow.sdk.exceptions import AirflowSkipException

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.dag_defaults import clean_asset


def validate_and_publish(contract: DatasetContract, raw_loaded) -> None:
    """validate_and_clean after `raw_loaded`, then publish_clean, which updates the
    dataset's clean-data asset only when new clean rows arrived (a skipped task
    emits no asset event, so training is not re-run on unchanged data)."""

    @task
    def validate_and_clean() -> dict:
        from mlops_pipelines.ingestion import clean
        from mlops_pipelines.resources import data_engine

        return clean(data_engine(), contract)

    @task(outlets=[clean_asset(contract.name)])
    def publish_clean(counts: dict) -> dict:
        if not counts["clean"]:
            raise AirflowSkipException("no new clean rows: the clean-data asset is not updated")
        return counts

    counts = validate_and_clean()
    raw_loaded >> counts
    publish_clean(counts)
