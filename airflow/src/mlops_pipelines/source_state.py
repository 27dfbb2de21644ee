"""What ingestion last found at a data_api group: the batch it received, or that the group has none left.

One row per dataset and group (tables.SOURCE_STATE), written by covertype_ingest and
read by the ui's Monitoring tab. The row remembers when the end was first met, so
that run warns (with the way to restart the group) and the runs after it only note it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from mlops_pipelines.tables import SOURCE_STATE


@dataclass(frozen=True)
class SourceState:
    dataset: str
    group_number: int
    batch_number: int | None
    exhausted_at: datetime | None
    checked_at: datetime

    @property
    def exhausted(self) -> bool:
        return self.exhausted_at is not None


def restart_hint(data_api_url: str, group_number: int) -> str:
    return f"GET {data_api_url.rstrip('/')}/restart_data_generation?group_number={group_number}"


def _current(conn: Connection, dataset: str, group_number: int) -> dict[str, Any] | None:
    # FOR UPDATE: the read and the write that depends on it are one step.
    query = select(SOURCE_STATE).where(SOURCE_STATE.c.dataset == dataset, SOURCE_STATE.c.group_number == group_number).with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def _write(conn: Connection, row: dict[str, Any] | None, values: dict[str, Any]) -> SourceState:
    if row is None:
        conn.execute(SOURCE_STATE.insert(), values)
    else:
        conn.execute(SOURCE_STATE.update().where(SOURCE_STATE.c.id == row["id"]), values)
    return SourceState(**values)


def record_batch(engine: Engine, dataset: str, group_number: int, batch_number: int, now: datetime) -> SourceState:
    """The group served `batch_number`: it serves (again, after a restart)."""
    with engine.begin() as conn:
        row = _current(conn, dataset, group_number)
        values = {"dataset": dataset, "group_number": group_number, "batch_number": batch_number, "exhausted_at": None, "checked_at": now}
        return _write(conn, row, values)


def record_exhausted(engine: Engine, dataset: str, group_number: int, last_batch: int | None, now: datetime) -> tuple[SourceState, bool]:
    """The group has no batch left. Returns its state and whether this is the first time the end was met.

    `last_batch` is data_api's word for the group's last batch; without it, the last one received.
    """
    with engine.begin() as conn:
        row = _current(conn, dataset, group_number)
        first = row is None or row["exhausted_at"] is None
        values = {
            "dataset": dataset,
            "group_number": group_number,
            "batch_number": last_batch if last_batch is not None else (row or {}).get("batch_number"),
            "exhausted_at": now if first else row["exhausted_at"],  # type: ignore[index]  # not first: row exists
            "checked_at": now,
        }
        return _write(conn, row, values), first


def read(engine: Engine, dataset: str, group_number: int) -> SourceState | None:
    with engine.connect() as conn:
        query = select(SOURCE_STATE).where(SOURCE_STATE.c.dataset == dataset, SOURCE_STATE.c.group_number == group_number)
        row = conn.execute(query).mappings().first()
    return None if row is None else SourceState(**{k: row[k] for k in SourceState.__dataclass_fields__})
