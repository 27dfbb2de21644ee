"""Settings every platform DAG shares: retries with backoff, start date, assets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlops_pipelines.contracts import CONTRACTS

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)

# A failed task retries with growing pauses; its writes are all-or-nothing, so a
# retry starts from a clean slate.
DEFAULT_ARGS = {
    "owner": "mlops-platform",
    "retries": 3,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
}


def clean_asset(dataset: str):
    """The Airflow Asset updated whenever a dataset's clean table gains rows."""
    from airflow.sdk import Asset

    contract = CONTRACTS[dataset]
    return Asset(name=contract.clean_table, uri=contract.clean_asset_uri, group="mlops_data")


def retrain_asset(dataset: str):
    """The Airflow Asset the monitor updates when the dataset's model needs retraining (event extra: the reason)."""
    from airflow.sdk import Asset

    return Asset(name=f"{dataset}_retrain", uri=f"mlops://monitoring/{dataset}/retrain", group="monitoring")
