"""Schema of the platform's data tables in MySQL, derived from the dataset contracts.

`create_tables` runs at the start of every ingestion DAG run (create-if-missing),
so a fresh volume and an existing one both end up with every table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
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


# --- monitoring (issue 12; the agreed design: monitoring-schema) -------------------------

# One row per scored Covertype batch: the production version's live accuracy (monitoring.quality).
MODEL_QUALITY = Table(
    "model_quality",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("dataset", String(32), nullable=False),
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("batch_key", String(64), nullable=False),
    Column("group_number", Integer, nullable=True),
    Column("batch_number", Integer, nullable=True),
    Column("rows_scored", Integer, nullable=False),
    Column("accuracy", Float, nullable=False),
    Column("f1_macro", Float, nullable=False),
    Column("baseline_accuracy", Float, nullable=True),
    Column("baseline_f1_macro", Float, nullable=True),
    Column("mlflow_run_id", String(64), nullable=True),
    Column("measured_at", DateTime, nullable=False),
    # A retried task writes nothing twice.
    UniqueConstraint("dataset", "model_name", "model_version", "batch_key", name="uq_model_quality_batch"),
    Index("ix_model_quality_dataset_measured_at", "dataset", "measured_at"),
    mysql_charset="utf8mb4",
)

# One row per feature per drift check per source (monitoring.drift).
FEATURE_DRIFT = Table(
    "feature_drift",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("check_id", String(64), nullable=False),
    Column("source", String(16), nullable=False),
    Column("feature", String(64), nullable=False),
    Column("dataset", String(32), nullable=False),
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("window_start", DateTime, nullable=False),
    Column("window_end", DateTime, nullable=False),
    Column("method", String(16), nullable=False),
    Column("statistic", Float, nullable=False),
    Column("p_value", Float, nullable=True),
    Column("drifted", Boolean, nullable=False),
    Column("rows_compared", Integer, nullable=False),
    Column("report_run_id", String(64), nullable=True),
    Column("measured_at", DateTime, nullable=False),
    UniqueConstraint("check_id", "source", "feature", name="uq_feature_drift_check"),
    Index("ix_feature_drift_dataset_measured_at", "dataset", "measured_at"),
    mysql_charset="utf8mb4",
)

# One row each time the monitor fires the retraining Asset (monitoring.retrain).
RETRAIN_TRIGGERS = Table(
    "retrain_triggers",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("dataset", String(32), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("fired_at", DateTime, nullable=False),
    Index("ix_retrain_triggers_dataset_fired_at", "dataset", "fired_at"),
    mysql_charset="utf8mb4",
)

# Every monitoring table (the predictions table joins this list where it is defined).
MONITORING_TABLES = [MODEL_QUALITY, FEATURE_DRIFT, RETRAIN_TRIGGERS]


def create_tables(engine: Engine) -> list[str]:
    """Create whatever table is missing; existing tables and their rows are left alone."""
    metadata.create_all(engine, checkfirst=True)
    return sorted(metadata.tables)
