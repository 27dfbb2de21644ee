"""Task groups that several DAGs share; call them inside a `@dag` function."""

from __future__ import annotations

from airflow.sdk import task
from airflow.sdk.exceptions import AirflowSkipException
from airflow.task.trigger_rule import TriggerRule

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.orchestration.defaults import clean_asset

# What the clean-data asset's events carry: how many clean rows the table held.
PUBLISHED_ROWS = "clean_rows"


def rows_to_publish(total_clean: int, last_extra: dict | None) -> int:
    """Clean rows not yet announced by an asset event (0: nothing to publish).

    Compared with the last event's watermark rather than with this attempt's
    insert count, so a retry after the clean rows were committed still publishes.
    """
    published = int((last_extra or {}).get(PUBLISHED_ROWS, 0))
    return max(0, total_clean - published)


def validate_and_publish(contract: DatasetContract, raw_loaded, before_publish=None):
    """validate_and_clean after `raw_loaded`, then publish_clean, which updates the
    dataset's clean-data asset only when the clean table holds rows no earlier
    event announced (a skipped task emits no asset event, so training is not
    re-run on unchanged data).

    `before_publish(counts)`, if given, builds a task that runs between the two
    (covertype's live-accuracy scoring: the batch is scored before the clean-data
    asset announces it); publish_clean then runs whether it succeeded or skipped,
    as long as validate_and_clean succeeded (skipped too when the ingest skipped:
    a source with no batch left). Returns the publish_clean task.
    """
    asset = clean_asset(contract.name)
    trigger_rule = TriggerRule.ALL_SUCCESS if before_publish is None else TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS

    @task
    def validate_and_clean() -> dict:
        from mlops_pipelines.ingestion import clean
        from mlops_pipelines.orchestration.resources import data_engine

        return clean(data_engine(), contract)

    @task(inlets=[asset], outlets=[asset], trigger_rule=trigger_rule)
    def publish_clean(counts: dict | None, *, inlet_events=None, outlet_events=None) -> dict:
        if counts is None:  # no upstream result (e.g. its XCom cleared): nothing known to publish
            raise AirflowSkipException("validate_and_clean gave no counts: the clean-data asset is not updated")
        newest = inlet_events[asset].ascending(False).limit(1)
        last = newest[0].extra if len(newest) else None
        new_rows = rows_to_publish(counts["total_clean"], last)
        if not new_rows:
            raise AirflowSkipException("no new clean rows: the clean-data asset is not updated")
        outlet_events[asset].extra = {PUBLISHED_ROWS: counts["total_clean"], "new_rows": new_rows}
        return counts

    counts = validate_and_clean()
    raw_loaded >> counts
    published = publish_clean(counts)  # type: ignore[arg-type]  # TaskFlow passes the XCom, the task receives the dict
    if before_publish is not None:
        before_publish(counts) >> published
    return published
