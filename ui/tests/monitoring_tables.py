"""The monitoring tables for tests against a real MySQL: the CREATE statements
of airflow's golden file contract/monitoring-tables.json (what `python -m
mlops_pipelines.init_tables` runs in airflow-init, compiled for MySQL), never a copy."""

from __future__ import annotations

import json
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[2] / "contract" / "monitoring-tables.json"
_TABLES = json.loads(GOLDEN.read_text())["tables"]

TABLES = tuple(_TABLES)
# CREATE TABLE and CREATE INDEX statements, table by table; run them in the test database.
DDL = [statement for table in TABLES for statement in _TABLES[table]["ddl"]]
