"""The ingestion steps of the DAGs, as plain functions of an engine: raw rows in, then
validated into the clean and rejected tables."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from mlops_pipelines import source_state, storage
from mlops_pipelines.contracts import COVERTYPE, PENGUINS, DatasetContract
from mlops_pipelines.sources import DataExhausted, fetch_covertype_batch, load_penguins_raw, penguins_to_features
from mlops_pipelines.storage import insert_raw, table_counts, utcnow
from mlops_pipelines.tables import create_tables
from mlops_pipelines.validation import validate

log = logging.getLogger(__name__)

# Each dataset's raw columns mapped onto its contract before validation.
TO_FEATURES: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    PENGUINS.name: penguins_to_features,
    COVERTYPE.name: lambda raw: raw[[*COVERTYPE.feature_names, COVERTYPE.target]],
}


def ingest_penguins(engine: Engine) -> dict[str, int]:
    """Load the package's raw penguins data into penguins_raw (rows already there are skipped)."""
    create_tables(engine)
    counts = insert_raw(engine, PENGUINS, load_penguins_raw())
    log.info("penguins raw: %s", counts)
    return counts


def ingest_covertype(engine: Engine, data_api_url: str, group_number: int) -> dict[str, Any]:
    """Fetch the group's current batch from data_api and append it to covertype_raw.

    When data_api has delivered every batch, nothing is ingested: the result says
    `exhausted` (see `source_exhausted`). Either way source_state records what was found.
    """
    create_tables(engine)
    try:
        batch = fetch_covertype_batch(data_api_url, group_number)
    except DataExhausted as exc:
        return source_exhausted(engine, data_api_url, group_number, exc)
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
    source_state.record_batch(engine, COVERTYPE.name, batch.group_number, batch.batch_number, fetched_at)
    counts.update(group_number=batch.group_number, batch_number=batch.batch_number, fetched_at=fetched_at.isoformat())
    log.info("covertype raw, group %s batch %s: %s", batch.group_number, batch.batch_number, counts)
    return counts


def source_exhausted(engine: Engine, data_api_url: str, group_number: int, exc: DataExhausted) -> dict[str, Any]:
    """Record that the group has no batch left; warn the first time, with how to restart it, and note it after."""
    state, first = source_state.record_exhausted(engine, COVERTYPE.name, group_number, exc.last_batch, utcnow().replace(microsecond=0))
    assert state.exhausted_at is not None
    if first:
        log.warning(
            "data_api group %s is exhausted: it delivered its last batch (%s), so no new labelled covertype data arrives. "
            "Restart it with %s; the next run then ingests batch 1 again.",
            group_number,
            state.batch_number,
            source_state.restart_hint(data_api_url, group_number),
        )
    else:
        log.info("data_api group %s still exhausted (since %s UTC): nothing to ingest", group_number, state.exhausted_at)
    return {
        "exhausted": True,
        "first": first,
        "group_number": group_number,
        "batch_number": state.batch_number,
        "exhausted_at": state.exhausted_at.isoformat(),
    }


def validate_pending(engine: Engine, contract: DatasetContract) -> dict[str, int]:
    """Validate raw rows not seen before into the clean and rejected tables.

    Idempotent: a raw row is processed once (its fingerprint then sits in the
    clean or the rejected table), and everything happens in one transaction.
    """
    with engine.begin() as conn:
        rows = storage.pending_raw(conn, contract)
        features = TO_FEATURES[contract.name](rows)
        features.insert(0, "fingerprint", rows["fingerprint"])
        result = validate(features, contract)
        storage.insert_clean(conn, contract, result.clean)
        storage.insert_rejected(conn, contract, result.rejected, rows.set_index("fingerprint"))
    return {"processed": len(rows), **result.counts}


def clean(engine: Engine, contract: DatasetContract) -> dict[str, int]:
    """Validate new raw rows into the clean and rejected tables; log and return the counts."""
    create_tables(engine)
    counts = validate_pending(engine, contract)
    totals = table_counts(engine, contract)
    log.info(
        "%s validation: %s new rows -> %s clean, %s rejected (tables now: %s)",
        contract.name,
        counts["processed"],
        counts["clean"],
        counts["rejected"],
        totals,
    )
    return {**counts, **{f"total_{k}": v for k, v in totals.items()}}
