"""The contract as files other services' tests read (contract/ at the repository root).

Kept apart from contracts.py and tables.py, which it reads both of, so that
neither imports the other back. test_contracts.py writes and checks the files.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import UniqueConstraint
from sqlalchemy.dialects import mysql
from sqlalchemy.schema import CreateIndex, CreateTable

from mlops_pipelines.contracts import CONTRACTS, CONVENTIONS, FEATURE_SPEC_SCHEMA
from mlops_pipelines.tables import CREATE_PREDICTIONS_VIEW, MONITORING_TABLES, PREDICTION_REQUESTS, PREDICTIONS_COLUMNS, PREDICTIONS_VIEW


def monitoring_contract() -> dict[str, Any]:
    """The monitoring tables as their readers and writers must see them (contract/monitoring-tables.json).

    Types as MySQL spells them, so inference's and the ui's tests can hold their SQL to them. A view
    (`view_of` its table) is read like a table and written through its table; its `unique` is what
    its table's key guarantees.
    """
    dialect = mysql.dialect()
    tables = {}
    for table in MONITORING_TABLES:
        tables[table.name] = {
            "columns": [
                {
                    "name": column.name,
                    "type": column.type.compile(dialect=dialect),
                    "nullable": bool(column.nullable),
                    **({"primary_key": True, "autoincrement": True} if column.primary_key else {}),
                }
                for column in table.columns
            ],
            "unique": [[c.name for c in u.columns] for u in table.constraints if isinstance(u, UniqueConstraint)],
            "indexes": [[c.name for c in index.columns] for index in sorted(table.indexes, key=lambda i: str(i.name))],
            # The statements that make it, for tests and benchmarks that need the table without airflow.
            "ddl": [str(CreateTable(table).compile(dialect=dialect)).strip()]
            + [str(CreateIndex(index).compile(dialect=dialect)).strip() for index in sorted(table.indexes, key=lambda i: str(i.name))],
        }
    # The view readers read the prediction log through: after its table, as its statement needs it.
    tables[PREDICTIONS_VIEW] = {
        "view_of": PREDICTION_REQUESTS.name,
        "columns": [{"name": name, "type": kind, "nullable": False} for name, kind in PREDICTIONS_COLUMNS],
        "unique": [["request_id", "row_index"]],
        "indexes": [],
        "ddl": [CREATE_PREDICTIONS_VIEW],
    }
    return {"database": "DATA_DB_NAME (default mlops_data)", "tables": tables}


def golden_files() -> dict[str, Any]:
    """Every file of contract/, by its path there."""
    return {
        "monitoring-tables.json": monitoring_contract(),
        "feature-spec.schema.json": FEATURE_SPEC_SCHEMA,
        "conventions.json": CONVENTIONS,
        **{f"specs/{name}.json": contract.feature_spec() for name, contract in CONTRACTS.items()},
    }
