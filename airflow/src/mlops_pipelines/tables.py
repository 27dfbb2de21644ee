"""Schema of the platform's data tables in MySQL, derived from the dataset contracts.

`create_tables` runs at the start of every ingestion DAG run (create-if-missing),
so a fresh volume and an existing one both end up with every table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.engine import Engine

from mlops_pipelines.contracts import COVERTYPE, PENGUINS, Categorical, DatasetContract, Numeric
from mlops_pipelines.sources import COVERTYPE_RAW_COLUMNS, PENGUINS_RAW_COLUMNS

metadata = MetaData()

FINGERPRINT_LENGTH = 64  # hex sha256


def _fingerprint_column() -> Column:
    # The row's identity: re-ingesting the same row is a no-op.
    return Column("fingerprint", String(FINGERPRINT_LENGTH), nullable=False, unique=True)


def _raw_table(contract: DatasetContract, columns: list[str], extra: list[Column]) -> Table:
    return Table(
        contract.raw_table,
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        _fingerprint_column(),
        *extra,
        # Raw values are kept as delivered, as text: validation decides what they mean.
        *[Column(name, String(255), nullable=True) for name in columns],
        Column("ingested_at", DateTime, nullable=False, server_default=func.now()),
        mysql_charset="utf8mb4",
    )


def _clean_table(contract: DatasetContract) -> Table:
    feature_columns = []
    for feature in contract.features:
        kind: Any
        if isinstance(feature, Numeric):
            kind = Integer if feature.integer else Float
        else:
            assert isinstance(feature, Categorical)
            kind = String(max(len(c) for c in feature.categories))
        feature_columns.append(Column(feature.name, kind, nullable=feature.nullable))
    target_kind = Integer if contract.integer_classes else String(64)
    return Table(
        contract.clean_table,
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        _fingerprint_column(),
        *feature_columns,
        Column(contract.target, target_kind, nullable=False),
        Column("validated_at", DateTime, nullable=False, server_default=func.now()),
        mysql_charset="utf8mb4",
    )


def _rejected_table(contract: DatasetContract) -> Table:
    return Table(
        contract.rejected_table,
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        _fingerprint_column(),
        Column("reason", Text, nullable=False),
        # The offending row as JSON, so nothing of it is lost.
        Column("row_json", Text, nullable=False),
        Column("rejected_at", DateTime, nullable=False, server_default=func.now()),
        mysql_charset="utf8mb4",
    )


RAW = {
    PENGUINS.name: _raw_table(PENGUINS, PENGUINS_RAW_COLUMNS, []),
    COVERTYPE.name: _raw_table(
        COVERTYPE,
        COVERTYPE_RAW_COLUMNS,
        [
            Column("group_number", Integer, nullable=False),
            Column("batch_number", Integer, nullable=False),
            Column("fetched_at", DateTime, nullable=False),
        ],
    ),
}
CLEAN = {c.name: _clean_table(c) for c in (PENGUINS, COVERTYPE)}
REJECTED = {c.name: _rejected_table(c) for c in (PENGUINS, COVERTYPE)}


def create_tables(engine: Engine) -> list[str]:
    """Create whatever table is missing; existing tables and their rows are left alone."""
    metadata.create_all(engine, checkfirst=True)
    return sorted(metadata.tables)
