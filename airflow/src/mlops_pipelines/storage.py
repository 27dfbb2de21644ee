"""Reading and writing the platform's data tables: idempotent, one transaction per step."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Callable

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from mlops_pipelines.contracts import COVERTYPE, PENGUINS, DatasetContract
from mlops_pipelines.sources import penguins_to_features
from mlops_pipelines.tables import CLEAN, RAW, REJECTED
from mlops_pipelines.validation import validate

CHUNK = 1000  # rows per IN (...) lookup and per executemany


def fingerprint(values: list[str | None]) -> str:
    """Identity of a raw row: the same delivered values give the same fingerprint."""
    return hashlib.sha256(json.dumps(values, separators=(",", ":")).encode()).hexdigest()


def with_fingerprints(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.insert(0, "fingerprint", [fingerprint(list(row)) for row in frame.itertuples(index=False, name=None)])
    return out


def _existing(conn: Connection, table, fingerprints: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(fingerprints), CHUNK):
        chunk = fingerprints[start:start + CHUNK]
        found.update(conn.execute(select(table.c.fingerprint).where(table.c.fingerprint.in_(chunk))).scalars())
    return found


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # None, not NaN, for SQL NULL.
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _insert(conn: Connection, table, records: list[dict[str, Any]]) -> None:
    for start in range(0, len(records), CHUNK):
        conn.execute(table.insert(), records[start:start + CHUNK])


def insert_raw(engine: Engine, contract: DatasetContract, frame: pd.DataFrame, **extra: Any) -> dict[str, int]:
    """Append rows to the dataset's raw table, skipping rows it already holds.

    All or nothing: the rows go in one transaction, so a failure leaves the
    table as it was and a retry starts clean. `extra` columns (group, batch,
    fetch time) are set on every new row.
    """
    table = RAW[contract.name]
    rows = with_fingerprints(frame).drop_duplicates("fingerprint")
    with engine.begin() as conn:
        known = _existing(conn, table, rows["fingerprint"].tolist())
        new = rows[~rows["fingerprint"].isin(known)]
        records = _records(new)
        for record in records:
            record.update(extra)
        _insert(conn, table, records)
    return {"received": len(frame), "inserted": len(new), "duplicates": len(frame) - len(new)}


# Each dataset's raw columns mapped onto its contract before validation.
TO_FEATURES: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    PENGUINS.name: penguins_to_features,
    COVERTYPE.name: lambda raw: raw[[*COVERTYPE.feature_names, COVERTYPE.target]],
}


def preprocess(engine: Engine, contract: DatasetContract) -> dict[str, int]:
    """Validate raw rows not seen before into the clean and rejected tables.

    Idempotent: a raw row is processed once (its fingerprint then sits in the
    clean or the rejected table), and everything happens in one transaction.
    """
    raw, clean, rejected = RAW[contract.name], CLEAN[contract.name], REJECTED[contract.name]
    value_columns = [c for c in raw.c if c.name not in ("id", "ingested_at", "group_number", "batch_number", "fetched_at")]
    pending = (
        select(*value_columns)
        .outerjoin(clean, clean.c.fingerprint == raw.c.fingerprint)
        .outerjoin(rejected, rejected.c.fingerprint == raw.c.fingerprint)
        .where(clean.c.id.is_(None), rejected.c.id.is_(None))
        .order_by(raw.c.id)
    )
    with engine.begin() as conn:
        rows = pd.DataFrame(conn.execute(pending).mappings().all(), columns=[c.name for c in value_columns])
        features = TO_FEATURES[contract.name](rows)
        features.insert(0, "fingerprint", rows["fingerprint"])
        result = validate(features, contract)
        _insert(conn, clean, _records(result.clean))
        raw_by_fingerprint = rows.set_index("fingerprint")
        _insert(conn, rejected, [
            {
                "fingerprint": fp,
                "reason": reason,
                "row_json": json.dumps(raw_by_fingerprint.loc[fp].where(raw_by_fingerprint.loc[fp].notna(), None).to_dict()),
            }
            for fp, reason in zip(result.rejected["fingerprint"], result.rejected["reason"])
        ])
    return {"processed": len(rows), **result.counts}


def table_counts(engine: Engine, contract: DatasetContract) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            kind: conn.execute(select(func.count()).select_from(table[contract.name])).scalar_one()
            for kind, table in (("raw", RAW), ("clean", CLEAN), ("rejected", REJECTED))
        }


def utcnow() -> datetime:
    # MySQL DATETIME has no zone: store UTC, naive.
    return datetime.now(timezone.utc).replace(tzinfo=None)
