"""Reading and writing the platform's data tables: idempotent, all-or-nothing writes.

Data access only; what is clean is decided in `validation` (called by `ingestion`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.tables import CLEAN, RAW, REJECTED

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
        chunk = fingerprints[start : start + CHUNK]
        found.update(conn.execute(select(table.c.fingerprint).where(table.c.fingerprint.in_(chunk))).scalars())
    return found


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # None, not NaN, for SQL NULL.
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _insert(conn: Connection, table, records: list[dict[str, Any]]) -> None:
    for start in range(0, len(records), CHUNK):
        conn.execute(table.insert(), records[start : start + CHUNK])


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


# Columns a raw table holds besides the delivered values.
RAW_BOOKKEEPING = ("id", "ingested_at", "group_number", "batch_number", "fetched_at")


def pending_raw(conn: Connection, contract: DatasetContract) -> pd.DataFrame:
    """Raw rows neither in the clean nor in the rejected table yet (fingerprint and delivered values), in arrival order."""
    raw, clean, rejected = RAW[contract.name], CLEAN[contract.name], REJECTED[contract.name]
    value_columns = [c for c in raw.c if c.name not in RAW_BOOKKEEPING]
    pending = (
        select(*value_columns)
        .outerjoin(clean, clean.c.fingerprint == raw.c.fingerprint)
        .outerjoin(rejected, rejected.c.fingerprint == raw.c.fingerprint)
        .where(clean.c.id.is_(None), rejected.c.id.is_(None))
        .order_by(raw.c.id)
    )
    return pd.DataFrame(conn.execute(pending).mappings().all(), columns=[c.name for c in value_columns])


def insert_clean(conn: Connection, contract: DatasetContract, clean: pd.DataFrame) -> None:
    _insert(conn, CLEAN[contract.name], _records(clean))


def insert_rejected(conn: Connection, contract: DatasetContract, rejected: pd.DataFrame, raw: pd.DataFrame) -> None:
    """Rejected rows with their reasons and the raw values as delivered (`raw` indexed by fingerprint)."""
    _insert(
        conn,
        REJECTED[contract.name],
        [
            {"fingerprint": fp, "reason": reason, "row_json": json.dumps(raw.loc[fp].where(raw.loc[fp].notna(), None).to_dict())}
            for fp, reason in zip(rejected["fingerprint"], rejected["reason"])
        ],
    )


def table_counts(engine: Engine, contract: DatasetContract) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            kind: conn.execute(select(func.count()).select_from(table[contract.name])).scalar_one()
            for kind, table in (("raw", RAW), ("clean", CLEAN), ("rejected", REJECTED))
        }


def utcnow() -> datetime:
    # MySQL DATETIME has no zone: store UTC, naive.
    return datetime.now(UTC).replace(tzinfo=None)
