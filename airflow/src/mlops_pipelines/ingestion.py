"""The ingestion and preprocessing steps of the DAGs, as plain functions of an engine."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from mlops_pipelines.contracts import COVERTYPE, PENGUINS, DatasetContract
from mlops_pipelines.preprocessing import preprocess
from mlops_pipelines.sources import fetch_covertype_batch, load_penguins_raw
from mlops_pipelines.storage import insert_raw, table_counts, utcnow
from mlops_pipelines.tables import create_tables

log = logging.getLogger(__name__)


def ingest_penguins(engine: Engine) -> dict[str, int]:
    """Load the package's raw penguins data into penguins_raw (rows already there are skipped)."""
    create_tables(engine)
    counts = insert_raw(engine, PENGUINS, load_penguins_raw())
    log.info("penguins raw: %s", counts)
    return counts


def ingest_covertype(engine: Engine, data_api_url: str, group_number: int) -> dict[str, int | str]:
    """Fetch the group's current batch from data_api and append it to covertype_raw.

    Raises sources.DataExhausted when data_api has delivered every batch.
    """
    create_tables(engine)
    batch = fetch_covertype_batch(data_api_url, group_number)
    # Whole seconds, so the value read back from DATETIME equals it: group, batch
    # and fetch time identify this fetch's rows for the live-accuracy task.
    fetched_at = utcnow().replace(microsecond=0)
    counts: dict = insert_raw(
        engine,
        COVERTYPE,
        batch.frame,
        group_number=batch.group_number,
        batch_number=batch.batch_number,
        fetched_at=fetched_at,
    )
    counts.update(group_number=batch.group_number, batch_number=batch.batch_number, fetched_at=fetched_at.isoformat())
    log.info("covertype raw, group %s batch %s: %s", batch.group_number, batch.batch_number, counts)
    return counts


def clean(engine: Engine, contract: DatasetContract) -> dict[str, int]:
    """Validate new raw rows into the clean and rejected tables; log and return the counts."""
    create_tables(engine)
    counts = preprocess(engine, contract)
    totals = table_counts(engine, contract)
    log.info(
        "%s preprocessing: %s new rows -> %s clean, %s rejected (tables now: %s)",
        contract.name,
        counts["processed"],
        counts["clean"],
        counts["rejected"],
        totals,
    )
    return {**counts, **{f"total_{k}": v for k, v in totals.items()}}
