"""Every alias move of the served models, in MySQL (mlops_data.alias_moves), and the replicas' shared nudge.

The schema is airflow's (mlops_pipelines.tables, contract/monitoring-tables.json);
inference writes it with the prediction log's user, which may insert into and
select from this table only.

A move is recorded once however many replicas see it: each row carries its place
in its model and alias's history (`seq`, unique with them), computed from the
latest row. A second writer of the same move finds the latest row already
pointing where it would, or loses the insert on the unique key and reads again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from inference.settings import Settings

log = logging.getLogger(__name__)

TABLE = "alias_moves"
# webhook: MLflow told inference; poll: inference saw it when it asked the registry;
# rollback: scripts/rollback.sh put the alias back.
MovePath = Literal["webhook", "poll", "rollback"]


@dataclass(frozen=True)
class Move:
    id: int
    model_name: str
    alias: str
    from_version: str | None
    to_version: str | None
    path: str
    moved_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model_name,
            "alias": self.alias,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "path": self.path,
            "moved_at": self.moved_at.replace(tzinfo=UTC).isoformat(),
        }


_COLUMNS = "id, model_name, alias, from_version, to_version, path, moved_at"


def _move(row: Any) -> Move:
    return Move(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6])


class History:
    """The alias_moves table: append a move once, read a model's history, see what others appended."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        timeout = settings.prediction_log_db_timeout_seconds
        # No connection until first used; pre-ping replaces one MySQL closed while away.
        self.engine = engine or create_engine(
            settings.predictions_db_url.update_query_dict({"charset": "utf8mb4"}),
            pool_size=2,
            max_overflow=1,
            pool_pre_ping=True,
            pool_recycle=3600,
            connect_args={"connect_timeout": timeout, "read_timeout": timeout, "write_timeout": timeout},
        )

    @staticmethod
    def _latest(conn: Connection, model: str, alias: str) -> tuple[int, str | None] | None:
        row = conn.execute(
            text(f"SELECT seq, to_version FROM {TABLE} WHERE model_name = :m AND alias = :a ORDER BY seq DESC LIMIT 1"),
            {"m": model, "a": alias},
        ).first()
        return None if row is None else (int(row[0]), row[1])

    def latest(self, model: str, alias: str) -> Move | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE model_name = :m AND alias = :a ORDER BY seq DESC LIMIT 1"),
                {"m": model, "a": alias},
            ).first()
        return None if row is None else _move(row)

    def record(self, model: str, alias: str, to_version: str | None, path: MovePath, from_version: str | None = None) -> bool:
        """Append the move of `alias` to `to_version` (None: removed) unless the history already ends there.

        The version it came from is the history's own last one; `from_version` only
        stands in for a first row. True when this call wrote the row.
        """
        for _ in range(3):
            try:
                with self.engine.begin() as conn:
                    latest = self._latest(conn, model, alias)
                    if latest is not None and latest[1] == to_version:
                        return False
                    if latest is None and to_version is None:
                        return False  # removed before it was ever recorded: nothing moved that we know of
                    conn.execute(
                        text(
                            f"INSERT INTO {TABLE} (model_name, alias, seq, from_version, to_version, path, moved_at)"
                            " VALUES (:m, :a, :seq, :f, :t, :p, :at)"
                        ),
                        {
                            "m": model,
                            "a": alias,
                            "seq": (latest[0] + 1) if latest else 1,
                            "f": latest[1] if latest else from_version,
                            "t": to_version,
                            "p": path,
                            "at": datetime.now(UTC).replace(tzinfo=None),
                        },
                    )
                    return True
            except IntegrityError:
                continue  # another replica appended first: read again
        return False

    def of(self, model: str, limit: int = 100) -> list[Move]:
        """A model's moves, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE model_name = :m ORDER BY id DESC LIMIT :n"), {"m": model, "n": limit}
            ).all()
        return [_move(r) for r in rows]

    def last_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {TABLE}")).scalar_one())

    def since(self, last_id: int) -> list[Move]:
        """Moves appended after `last_id` (by any replica), oldest first: the primary key's range, so cheap."""
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE id > :i ORDER BY id LIMIT 1000"), {"i": last_id}).all()
        return [_move(r) for r in rows]

    def dispose(self) -> None:
        self.engine.dispose()
