"""Schema of the platform's data tables in MySQL, derived from the dataset contracts, and the
monitoring tables' grants.

`create_tables` runs at the start of every ingestion DAG run (create-if-missing),
so a fresh volume and an existing one both end up with every table.
`python -m mlops_pipelines.init_tables` (airflow-init, once per start) also brings a
volume of an older release up to date (`upgrade_tables`), then grants the monitoring
tables' users their table-level rights (see `grant_monitoring`).
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
    inspect,
    text,
)
from sqlalchemy.dialects.mysql import DATETIME as MYSQL_DATETIME
from sqlalchemy.dialects.mysql import LONGTEXT
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateColumn

from mlops_pipelines.contracts import COVERTYPE, PENGUINS, Categorical, DatasetContract, Numeric
from mlops_pipelines.sources import COVERTYPE_RAW_COLUMNS, PENGUINS_RAW_COLUMNS

metadata = MetaData()

FINGERPRINT_LENGTH = 64  # hex sha256


def _id_column() -> Column:
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


def _fingerprint_column() -> Column:
    # The row's identity: re-ingesting the same row is a no-op.
    return Column("fingerprint", String(FINGERPRINT_LENGTH), nullable=False, unique=True)


def _raw_table(contract: DatasetContract, columns: list[str], extra: list[Column]) -> Table:
    return Table(
        contract.raw_table,
        metadata,
        _id_column(),
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
        _id_column(),
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
        _id_column(),
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


# --- monitoring -------------------------------------------------------------
# What the served models see and how right they still are. Each table
# has one writer; the ui reads them all with a user that may only select them.


def _served_row_columns() -> list[Column]:
    """Which served row a prediction is of: its request, its place in it, when, where and by which model."""
    return [
        # X-Request-ID if the caller gave one, else generated; with row_index the row's
        # identity, so a retried flush (INSERT IGNORE) writes nothing twice.
        Column("request_id", String(64), nullable=False),
        Column("row_index", Integer, nullable=False),
        # UTC, to the millisecond: many predictions share a second.
        Column("predicted_at", DateTime().with_variant(MYSQL_DATETIME(fsp=3), "mysql", "mariadb"), nullable=False),
        Column("dataset", String(32), nullable=False),
        Column("route", String(64), nullable=False),
        Column("model_name", String(255), nullable=False),
    ]


def _prediction_columns() -> list[Column]:
    return [
        Column("prediction", String(64), nullable=False),
        Column("confidence", Float, nullable=False),
        Column("probabilities", Text, nullable=False),  # {class: probability}, JSON
    ]


# Production's predictions, a table row per request (inference.prediction_log): a 100-row
# batch is one row to insert and index, not a hundred (MySQL's work per row was the prediction
# log's limit). Its rows, each [features, prediction, confidence, probabilities], are one JSON
# array; the `predictions` view below gives them back a row per prediction.
PREDICTION_REQUESTS = Table(
    "prediction_requests",
    metadata,
    _id_column(),
    # X-Request-ID if the caller gave one, else generated; with first_row_index the entry's
    # identity, so a retried flush (INSERT IGNORE) writes nothing twice.
    Column("request_id", String(64), nullable=False),
    # The request's first row's row_index: 0, but for rows carried over a row at a time from
    # the per-row table of an older release (`upgrade_tables`).
    Column("first_row_index", Integer, nullable=False),
    Column("n_rows", Integer, nullable=False),
    # UTC, to the millisecond: many predictions share a second.
    Column("predicted_at", DateTime().with_variant(MYSQL_DATETIME(fsp=3), "mysql", "mariadb"), nullable=False),
    Column("dataset", String(32), nullable=False),
    Column("route", String(64), nullable=False),
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("latency_ms", Float, nullable=False),  # the request's model time
    # [[features (the input row, an object), prediction, confidence, {class: probability}], ...], JSON.
    Column("row_predictions", Text().with_variant(LONGTEXT, "mysql", "mariadb"), nullable=False),
    UniqueConstraint("request_id", "first_row_index", name="uq_prediction_requests_request_row"),
    Index("ix_prediction_requests_dataset_time", "dataset", "predicted_at"),
    mysql_charset="utf8mb4",
)

# A row per prediction, as readers (drift, the ui, ad-hoc SQL) see the log: the view's columns
# and their types as MySQL gives them. JSON_TABLE: MySQL 8 and MariaDB 10.6+.
PREDICTIONS_VIEW = "predictions"
PREDICTIONS_COLUMNS = (
    ("request_id", "VARCHAR(64)"),
    ("row_index", "BIGINT"),
    ("predicted_at", "DATETIME(3)"),
    ("dataset", "VARCHAR(32)"),
    ("route", "VARCHAR(64)"),
    ("model_name", "VARCHAR(255)"),
    ("model_version", "VARCHAR(32)"),
    ("features", "JSON"),
    ("prediction", "VARCHAR(64)"),
    ("confidence", "DOUBLE"),
    ("probabilities", "JSON"),
    ("latency_ms", "FLOAT"),
)


def request_rows(requests: str) -> str:
    """A request's rows as a table `r` (row_seq from 1, features, prediction, confidence, probabilities):
    JSON_TABLE over `requests`.row_predictions, for a FROM after the rows of prediction_requests aliased `requests`."""
    return (
        f"JSON_TABLE({requests}.row_predictions, '$[*]' COLUMNS (\n"
        "    row_seq FOR ORDINALITY, features JSON PATH '$[0]', prediction VARCHAR(64) PATH '$[1]',\n"
        "    confidence DOUBLE PATH '$[2]', probabilities JSON PATH '$[3]')) AS r"
    )


PREDICTIONS_VIEW_SELECT = f"""SELECT q.request_id, q.first_row_index + r.row_seq - 1 AS row_index, q.predicted_at, q.dataset,
       q.route, q.model_name, q.model_version, r.features, r.prediction, r.confidence, r.probabilities, q.latency_ms
FROM prediction_requests AS q, {request_rows("q")}"""
# OR REPLACE: two DAG tasks making the tables of a fresh database at once both succeed.
CREATE_PREDICTIONS_VIEW = f"CREATE OR REPLACE VIEW {PREDICTIONS_VIEW} AS\n{PREDICTIONS_VIEW_SELECT}"

MODEL_QUALITY = Table(
    "model_quality",
    metadata,
    _id_column(),
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
    # A retried scoring task writes nothing twice.
    UniqueConstraint("dataset", "model_name", "model_version", "batch_key", name="uq_model_quality_batch"),
    Index("ix_model_quality_dataset_time", "dataset", "measured_at"),
    mysql_charset="utf8mb4",
)

FEATURE_DRIFT = Table(
    "feature_drift",
    metadata,
    _id_column(),
    Column("check_id", String(64), nullable=False),
    Column("source", String(16), nullable=False),
    Column("feature", String(64), nullable=False),
    Column("dataset", String(32), nullable=False),
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("window_start", DateTime, nullable=False),
    Column("window_end", DateTime, nullable=False),
    # method: the test (ks, chi2); statistic: the PSI of the change; p_value: the test's,
    # Benjamini-Hochberg adjusted over the check's features of that source (monitoring.drift).
    Column("method", String(16), nullable=False),
    Column("statistic", Float, nullable=False),
    Column("p_value", Float, nullable=True),
    Column("drifted", Boolean, nullable=False),
    Column("rows_compared", Integer, nullable=False),
    Column("report_run_id", String(64), nullable=True),
    Column("measured_at", DateTime, nullable=False),
    UniqueConstraint("check_id", "source", "feature", name="uq_feature_drift_check"),
    Index("ix_feature_drift_dataset_time", "dataset", "measured_at"),
    mysql_charset="utf8mb4",
)

RETRAIN_TRIGGERS = Table(
    "retrain_triggers",
    metadata,
    _id_column(),
    Column("dataset", String(32), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("fired_at", DateTime, nullable=False),
    # fired: the retraining Asset was updated; acted: a version was registered after it;
    # held: a reason was found while the last retraining's challenger was still undecided (monitoring.retrain).
    Column("status", String(16), nullable=False, server_default="fired"),
    Index("ix_retrain_triggers_dataset_time", "dataset", "fired_at"),
    mysql_charset="utf8mb4",
)

# What ingestion last found at a dataset's data_api group (source_state.py): the
# batch it received, or since when the group has had no batch left.
SOURCE_STATE = Table(
    "source_state",
    metadata,
    _id_column(),
    Column("dataset", String(32), nullable=False),
    Column("group_number", Integer, nullable=False),
    # The last batch received; once exhausted, the group's last batch.
    Column("batch_number", Integer, nullable=True),
    # When ingestion first met the end (data_api's 410); NULL while the group serves.
    Column("exhausted_at", DateTime, nullable=True),
    Column("checked_at", DateTime, nullable=False),
    UniqueConstraint("dataset", "group_number", name="uq_source_state_group"),
    mysql_charset="utf8mb4",
)

# Every move of a served model's alias (inference appends; inference.history): which version
# an alias left and reached, when, and how inference learned of it (webhook, poll, rollback).
ALIAS_MOVES = Table(
    "alias_moves",
    metadata,
    _id_column(),
    Column("model_name", String(255), nullable=False),
    Column("alias", String(64), nullable=False),
    # The move's place in its model and alias's history: unique, so two replicas
    # seeing the same move record it once.
    Column("seq", Integer, nullable=False),
    Column("from_version", String(32), nullable=True),  # None: the first move recorded
    Column("to_version", String(32), nullable=True),  # None: the alias was removed
    Column("path", String(16), nullable=False),
    Column("moved_at", DateTime().with_variant(MYSQL_DATETIME(fsp=3), "mysql", "mariadb"), nullable=False),
    UniqueConstraint("model_name", "alias", "seq", name="uq_alias_moves_seq"),
    Index("ix_alias_moves_model_time", "model_name", "moved_at"),
    mysql_charset="utf8mb4",
)


# Champion against challenger (monitoring.challenger): both versions on the same rows of
# each labelled batch, rows neither trained on. model_quality stays production's alone.
def _pair_columns() -> list[Column]:
    return [
        Column("dataset", String(32), nullable=False),
        Column("model_name", String(255), nullable=False),
        Column("production_version", String(32), nullable=False),
        Column("challenger_version", String(32), nullable=False),
    ]


# Per batch and pair: each version's scores on the batch's rows neither trained on.
CHALLENGER_BATCHES = Table(
    "challenger_batches",
    metadata,
    _id_column(),
    *_pair_columns(),
    Column("batch_key", String(64), nullable=False),
    Column("group_number", Integer, nullable=True),
    Column("batch_number", Integer, nullable=True),
    Column("rows_scored", Integer, nullable=False),
    Column("rows_excluded", Integer, nullable=False),  # rows of the batch either version trained on
    Column("production_accuracy", Float, nullable=False),
    Column("challenger_accuracy", Float, nullable=False),
    Column("production_f1_macro", Float, nullable=False),
    Column("challenger_f1_macro", Float, nullable=False),
    Column("mlflow_run_id", String(64), nullable=True),  # the challenger's monitoring run
    Column("measured_at", DateTime, nullable=False),
    UniqueConstraint("model_name", "production_version", "challenger_version", "batch_key", name="uq_challenger_batches_batch"),
    Index("ix_challenger_batches_dataset_time", "dataset", "measured_at"),
    mysql_charset="utf8mb4",
)

# Per scored row and pair: the paired predictions the comparison is computed from.
CHALLENGER_ROWS = Table(
    "challenger_rows",
    metadata,
    _id_column(),
    *_pair_columns(),
    Column("batch_key", String(64), nullable=False),
    Column("clean_id", BigInteger, nullable=False),  # the row's id in the clean table
    Column("actual", String(64), nullable=False),
    Column("production_prediction", String(64), nullable=False),
    Column("challenger_prediction", String(64), nullable=False),
    UniqueConstraint("model_name", "production_version", "challenger_version", "clean_id", name="uq_challenger_rows_row"),
    mysql_charset="utf8mb4",
)

# Per pair, updated with every batch: the accumulated paired comparison (comparison.Comparison).
CHALLENGER_COMPARISON = Table(
    "challenger_comparison",
    metadata,
    _id_column(),
    *_pair_columns(),
    Column("batches", Integer, nullable=False),
    Column("rows_compared", Integer, nullable=False),
    Column("rows_excluded", Integer, nullable=False),
    Column("production_accuracy", Float, nullable=False),
    Column("challenger_accuracy", Float, nullable=False),
    Column("accuracy_diff", Float, nullable=False),  # challenger - production, a fraction
    Column("accuracy_ci_low", Float, nullable=False),
    Column("accuracy_ci_high", Float, nullable=False),
    Column("challenger_only_right", Integer, nullable=False),
    Column("production_only_right", Integer, nullable=False),
    Column("mcnemar_p", Float, nullable=False),
    Column("production_f1_macro", Float, nullable=False),
    Column("challenger_f1_macro", Float, nullable=False),
    Column("f1_macro_diff", Float, nullable=False),
    Column("f1_macro_ci_low", Float, nullable=True),  # NULL: too few rows to resample
    Column("f1_macro_ci_high", Float, nullable=True),
    Column("recommendation", String(16), nullable=False),  # promote | keep | undecided
    Column("sentence", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("model_name", "production_version", "challenger_version", name="uq_challenger_comparison_pair"),
    Index("ix_challenger_comparison_dataset_time", "dataset", "updated_at"),
    mysql_charset="utf8mb4",
)

# The challenger scored in shadow on production's live traffic (inference.shadow): per row,
# its prediction next to production's. Production's rows stay in `predictions` alone (its
# unique key and every count of served predictions take them as production's). A row per
# prediction: the challenger scores a sample of rows, at a bounded rate.
SHADOW_PREDICTIONS = Table(
    "shadow_predictions",
    metadata,
    _id_column(),
    # Production's row in the `predictions` view (request_id, row_index).
    *_served_row_columns(),
    Column("production_version", String(32), nullable=False),
    Column("challenger_version", String(32), nullable=False),
    *_prediction_columns(),  # the challenger's
    Column("production_prediction", String(64), nullable=False),
    Column("agree", Boolean, nullable=False),
    Column("actual", String(64), nullable=True),  # the true class when the caller sent it
    # A retried flush writes nothing twice; a row is scored once per challenger.
    UniqueConstraint("request_id", "row_index", "challenger_version", name="uq_shadow_predictions_request_row"),
    Index("ix_shadow_predictions_challenger_time", "model_name", "challenger_version", "predicted_at"),
    mysql_charset="utf8mb4",
)

# Every monitoring table: the ui's reader may select these and nothing else.
MONITORING_TABLES: list[Table] = [
    PREDICTION_REQUESTS,
    MODEL_QUALITY,
    FEATURE_DRIFT,
    RETRAIN_TRIGGERS,
    SOURCE_STATE,
    ALIAS_MOVES,
    CHALLENGER_BATCHES,
    CHALLENGER_ROWS,
    CHALLENGER_COMPARISON,
    SHADOW_PREDICTIONS,
]


def create_tables(engine: Engine) -> list[str]:
    """Create whatever table or view is missing; existing tables and their rows are left alone."""
    metadata.create_all(engine, checkfirst=True)
    inspector = inspect(engine)
    # A `predictions` table (an older release's) is left to airflow-init's upgrade_tables.
    if not inspector.has_table(PREDICTIONS_VIEW):
        with engine.begin() as conn:
            conn.execute(text(CREATE_PREDICTIONS_VIEW))
    return sorted(metadata.tables)


def upgrade_tables(engine: Engine, chunk: int = 20000) -> list[str]:
    """airflow-init's step: bring an older release's tables to this schema, then create what is missing.

    Not in `create_tables`: that runs on every DAG run, and this reads every table's columns.
    """
    done = predictions_to_requests(engine, chunk)
    create_tables(engine)
    return done + add_missing_columns(engine)


# An interrupted move (below) leaves the old rows under this name; the next airflow-init finishes it.
PREDICTIONS_BEFORE_REQUESTS = "predictions_by_row"


def predictions_to_requests(engine: Engine, chunk: int = 20000) -> list[str]:
    """An older release's per-row `predictions` table into `prediction_requests`, a row each, behind the view.

    Each old row becomes an entry of one row (first_row_index: its row_index), so every row
    keeps its request, index, time and values. Renamed first and copied in chunks by id with
    INSERT IGNORE, so an airflow-init stopped halfway copies nothing twice when run again.
    """
    inspector = inspect(engine)
    old_table = PREDICTIONS_VIEW in inspector.get_table_names()
    if not old_table and not inspector.has_table(PREDICTIONS_BEFORE_REQUESTS):
        return []
    with engine.begin() as conn:
        if old_table:
            conn.execute(text(f"RENAME TABLE {PREDICTIONS_VIEW} TO {PREDICTIONS_BEFORE_REQUESTS}"))
    PREDICTION_REQUESTS.create(engine, checkfirst=True)
    copy = text(
        f"INSERT IGNORE INTO {PREDICTION_REQUESTS.name} (request_id, first_row_index, n_rows, predicted_at, dataset, route, "
        "model_name, model_version, latency_ms, row_predictions) "
        "SELECT request_id, row_index, 1, predicted_at, dataset, route, model_name, model_version, latency_ms, "
        "JSON_ARRAY(JSON_ARRAY(JSON_EXTRACT(features, '$'), prediction, confidence, JSON_EXTRACT(probabilities, '$'))) "
        f"FROM {PREDICTIONS_BEFORE_REQUESTS} WHERE id > :after ORDER BY id LIMIT :chunk"
    )
    after = 0
    while True:
        with engine.begin() as conn:
            last = conn.execute(
                text(f"SELECT MAX(id) FROM (SELECT id FROM {PREDICTIONS_BEFORE_REQUESTS} WHERE id > :after ORDER BY id LIMIT :chunk) AS c"),
                {"after": after, "chunk": chunk},
            ).scalar()
            if last is None:
                break
            conn.execute(copy, {"after": after, "chunk": chunk})
        after = last
    with engine.begin() as conn:
        rows = conn.execute(text(f"SELECT COUNT(*) FROM {PREDICTIONS_BEFORE_REQUESTS}")).scalar_one()
        conn.execute(text(f"DROP TABLE {PREDICTIONS_BEFORE_REQUESTS}"))
    return [f"{rows} rows of the per-row predictions table moved to {PREDICTION_REQUESTS.name}, a row each"]


def add_missing_columns(engine: Engine) -> list[str]:
    """ALTER TABLE ... ADD COLUMN for each column of the schema an existing table lacks (a volume of an
    older release). Only columns an existing row can take: nullable ones or those with a server default."""
    inspector = inspect(engine)
    statements = []
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(f"{table.name}.{column.name} is missing and has no default for the rows already there")
            spec = CreateColumn(column).compile(dialect=engine.dialect)
            statements.append(f"ALTER TABLE {engine.dialect.identifier_preparer.quote(table.name)} ADD COLUMN {spec}")
    if statements:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    return statements


def _quoted_user(engine: Engine, user: str) -> str:
    # Users cannot be bound parameters in GRANT: quote them as string literals.
    literal = String().literal_processor(dialect=engine.dialect)
    assert literal is not None
    return f"{literal(user)}@'%'"


def grant_monitoring(engine: Engine, writer: str, reader: str) -> list[str]:
    """Table-level rights on the monitoring tables: `reader` may only select (the `predictions` view too); `writer`
    (inference) may only insert predictions (prediction_requests) and shadow predictions, and insert and read alias
    moves (their history is how its replicas follow each other).

    MySQL refuses a table-level grant on a table that does not exist, hence after
    `create_tables`. GRANT is idempotent. The engine's user needs GRANT OPTION on the database.
    """
    preparer = engine.dialect.identifier_preparer
    statements = [
        f"GRANT INSERT ON {preparer.quote(PREDICTION_REQUESTS.name)} TO {_quoted_user(engine, writer)}",
        f"GRANT INSERT ON {preparer.quote(SHADOW_PREDICTIONS.name)} TO {_quoted_user(engine, writer)}",
        f"GRANT SELECT, INSERT ON {preparer.quote(ALIAS_MOVES.name)} TO {_quoted_user(engine, writer)}",
    ]
    readable = [t.name for t in MONITORING_TABLES] + [PREDICTIONS_VIEW]
    statements += [f"GRANT SELECT ON {preparer.quote(name)} TO {_quoted_user(engine, reader)}" for name in readable]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))  # text(): the driver's % in '%' escaped
    return statements
