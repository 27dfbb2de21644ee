"""Writing and reading the monitoring tables (tables.MONITORING_TABLES)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection


def insert_ignoring_duplicates(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT IGNORE (MySQL and MariaDB): a row whose unique key is there already is left as it was.

    So a retried task writes nothing twice.
    """
    if rows:
        conn.execute(table.insert().prefix_with("IGNORE", dialect="mysql"), rows)
