"""The monitoring tables and their users' rights, on a real MySQL server (as airflow-init sets them up)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from mlops_pipelines import init_tables
from mlops_pipelines.contract_files import monitoring_contract
from mlops_pipelines.tables import (
    MONITORING_TABLES,
    PREDICTION_REQUESTS,
    PREDICTIONS_BEFORE_REQUESTS,
    PREDICTIONS_VIEW,
    add_missing_columns,
    create_tables,
    grant_monitoring,
    upgrade_tables,
)

pytestmark = pytest.mark.mysql

ROW = {
    "request_id": "r1",
    "row_index": 0,
    "predicted_at": datetime(2026, 1, 2, 3, 4, 5, 678000),
    "dataset": "penguins",
    "route": "/predict/penguins",
    "model_name": "penguins-classifier",
    "model_version": "1",
    "features": json.dumps({"island": "Biscoe"}),
    "prediction": "Adelie",
    "confidence": 0.9,
    "probabilities": json.dumps({"Adelie": 0.9, "Chinstrap": 0.05, "Gentoo": 0.05}),
    "latency_ms": 0.4,
}
# ROW as inference writes it: its request's entry in prediction_requests.
REQUEST = {
    **{k: ROW[k] for k in ("request_id", "predicted_at", "dataset", "route", "model_name", "model_version", "latency_ms")},
    "first_row_index": 0,
    "n_rows": 1,
    "row_predictions": json.dumps([[json.loads(ROW["features"]), ROW["prediction"], ROW["confidence"], json.loads(ROW["probabilities"])]]),
}


@pytest.fixture
def users(mysql_engine):
    """The data user (as mysql/init makes it: its database WITH GRANT OPTION) and the two monitoring users."""
    admin = mysql_engine
    database = mysql_engine.url.database
    suffix = uuid.uuid4().hex[:8]
    names = {"data": f"data_{suffix}", "writer": f"writer_{suffix}", "reader": f"reader_{suffix}"}
    with admin.begin() as conn:
        for name in names.values():
            conn.execute(text(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'pw-{name}'"))
        conn.execute(
            text(
                "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, "
                f"CREATE TEMPORARY TABLES, LOCK TABLES ON `{database}`.* TO '{names['data']}'@'%' WITH GRANT OPTION"
            )
        )
    engines = {role: create_engine(admin.url.set(username=name, password=f"pw-{name}")) for role, name in names.items()}
    try:
        yield names, engines
    finally:
        for engine in engines.values():
            engine.dispose()
        with admin.begin() as conn:
            for name in names.values():
                conn.execute(text(f"DROP USER IF EXISTS '{name}'@'%'"))


def as_predicted(row) -> dict:
    """A row of the predictions view, or ROW, with its JSON read and its FLOAT's digits as stored."""
    return {
        **row,
        "features": json.loads(row["features"]),
        "probabilities": json.loads(row["probabilities"]),
        "latency_ms": round(row["latency_ms"], 4),
    }


def denied(engine, statement: str, **params) -> bool:
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
    except DBAPIError as exc:
        # 1142: command denied to user for table; 1143: column-level.
        return exc.orig.args[0] in (1142, 1143)
    return False


def test_the_data_user_creates_the_tables_and_grants_writer_and_reader_only_their_part(users):
    names, engines = users
    create_tables(engines["data"])
    grant_monitoring(engines["data"], names["writer"], names["reader"])
    grant_monitoring(engines["data"], names["writer"], names["reader"])  # every airflow-init runs it again
    assert {t.name for t in MONITORING_TABLES} <= set(inspect(engines["data"]).get_table_names())
    assert inspect(engines["data"]).get_view_names() == [PREDICTIONS_VIEW]

    writer, reader = engines["writer"], engines["reader"]
    columns = ", ".join(REQUEST)
    values = ", ".join(f":{k}" for k in REQUEST)
    with writer.begin() as conn:
        conn.execute(text(f"INSERT IGNORE INTO prediction_requests ({columns}) VALUES ({values})"), REQUEST)
        # The same request again (a retried flush): ignored, not doubled, and no error.
        conn.execute(text(f"INSERT IGNORE INTO prediction_requests ({columns}) VALUES ({values})"), REQUEST)
    for table in ("prediction_requests", "predictions"):
        assert denied(writer, f"SELECT * FROM {table}")
        assert denied(writer, f"DELETE FROM {table}")
    assert denied(writer, "INSERT INTO model_quality (dataset) VALUES ('x')")
    assert denied(writer, "SELECT * FROM penguins_raw")
    assert denied(writer, "INSERT INTO penguins_raw (fingerprint) VALUES ('x')")
    # The alias history: inference appends moves and reads them back (its replicas follow each other), nothing more.
    with writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alias_moves (model_name, alias, seq, from_version, to_version, path, moved_at)"
                " VALUES ('m', 'production', 1, NULL, '1', 'poll', :at)"
            ),
            {"at": ROW["predicted_at"]},
        )
        assert conn.execute(text("SELECT to_version FROM alias_moves")).scalar_one() == "1"
    assert denied(writer, "UPDATE alias_moves SET to_version = '2'")
    assert denied(writer, "DELETE FROM alias_moves")
    # The challenger's shadow predictions: insert only, as the prediction log.
    shadow = {**{k: ROW[k] for k in ("request_id", "row_index", "predicted_at", "dataset", "route", "model_name")}}
    shadow.update(production_version="1", challenger_version="2", prediction="Gentoo", confidence=0.8)
    shadow.update(probabilities=ROW["probabilities"], production_prediction="Adelie", agree=False, actual=None)
    shadow_insert = f"INSERT IGNORE INTO shadow_predictions ({', '.join(shadow)}) VALUES ({', '.join(f':{k}' for k in shadow)})"
    with writer.begin() as conn:
        conn.execute(text(shadow_insert), shadow)
        conn.execute(text(shadow_insert), shadow)  # a retried flush: ignored
    assert denied(writer, "SELECT * FROM shadow_predictions")
    assert denied(writer, "DELETE FROM shadow_predictions")

    with reader.connect() as conn:
        rows = conn.execute(text("SELECT * FROM predictions")).mappings().all()
        for table in MONITORING_TABLES:
            conn.execute(text(f"SELECT COUNT(*) FROM {table.name}")).scalar_one()
    # Once, to the millisecond, every column as it was predicted.
    assert [as_predicted(row) for row in rows] == [as_predicted(ROW)]
    assert denied(reader, f"INSERT INTO prediction_requests ({columns}) VALUES ({values})", **{**REQUEST, "request_id": "r2"})
    assert denied(reader, "DELETE FROM prediction_requests")
    with reader.connect() as conn:
        assert conn.execute(text("SELECT challenger_version, agree, actual FROM shadow_predictions")).all() == [("2", False, None)]
    assert denied(reader, "DELETE FROM shadow_predictions")
    assert denied(reader, "SELECT * FROM penguins_clean")
    assert denied(reader, "SELECT * FROM covertype_raw")


def test_the_tables_match_the_golden_contract(mysql_engine):
    create_tables(mysql_engine)
    inspector = inspect(mysql_engine)
    contract = monitoring_contract()["tables"]
    for table in MONITORING_TABLES:
        described = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert list(described) == [c["name"] for c in contract[table.name]["columns"]]
        assert {n: c["nullable"] for n, c in described.items()} == {c["name"]: c["nullable"] for c in contract[table.name]["columns"]}
        unique = sorted(u["column_names"] for u in inspector.get_unique_constraints(table.name))
        assert unique == sorted(contract[table.name]["unique"])
    predicted_at = {c["name"]: c for c in inspector.get_columns(PREDICTION_REQUESTS.name)}["predicted_at"]
    assert getattr(predicted_at["type"], "fsp", None) == 3
    # The view: the contract's columns, in its order (what readers select by name).
    assert [c["name"] for c in inspector.get_columns(PREDICTIONS_VIEW)] == [c["name"] for c in contract[PREDICTIONS_VIEW]["columns"]]


def test_main_creates_and_grants_from_the_airflow_connection(users, monkeypatch, caplog):
    names, engines = users
    url = engines["data"].url.set(drivername="mysql").render_as_string(hide_password=False)
    monkeypatch.setenv("AIRFLOW_CONN_MLOPS_DATA", url)
    monkeypatch.setenv("PREDICTIONS_DB_USER", names["writer"])
    monkeypatch.setenv("MONITOR_DB_USER", names["reader"])
    assert init_tables.main() == 0
    with engines["reader"].connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM retrain_triggers")).scalar_one() == 0
    # Users that do not exist (a volume older than them): the tables are made, and the log says how to fix it.
    monkeypatch.setenv("PREDICTIONS_DB_USER", "nobody_" + uuid.uuid4().hex[:8])
    assert init_tables.main() == 0
    assert "01-databases.sh" in caplog.text


def test_a_table_of_an_older_release_gains_the_new_columns_and_keeps_its_rows(mysql_engine):
    # retrain_triggers as it was before it had a status: its rows read as fired ones.
    with mysql_engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE retrain_triggers (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, dataset VARCHAR(32) NOT NULL, "
                "reason VARCHAR(32) NOT NULL, detail TEXT NOT NULL, model_name VARCHAR(255) NOT NULL, "
                "model_version VARCHAR(32) NOT NULL, fired_at DATETIME NOT NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO retrain_triggers (dataset, reason, detail, model_name, model_version, fired_at) "
                "VALUES ('covertype', 'drift', '{}', 'm', '1', '2026-12-01 10:00:00')"
            )
        )
    create_tables(mysql_engine)  # every DAG run's step leaves an existing table alone
    assert "status" not in {c["name"] for c in inspect(mysql_engine).get_columns("retrain_triggers")}
    assert upgrade_tables(mysql_engine) == ["ALTER TABLE retrain_triggers ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'fired'"]
    assert "status" in {c["name"] for c in inspect(mysql_engine).get_columns("retrain_triggers")}
    with mysql_engine.connect() as conn:
        assert conn.execute(text("SELECT reason, status FROM retrain_triggers")).all() == [("drift", "fired")]
    assert add_missing_columns(mysql_engine) == []  # nothing left to add: a second start changes nothing


# The per-row predictions table of an older release, as it was made.
PER_ROW_PREDICTIONS_DDL = """CREATE TABLE predictions (
    id BIGINT NOT NULL AUTO_INCREMENT, request_id VARCHAR(64) NOT NULL, row_index INTEGER NOT NULL,
    predicted_at DATETIME(3) NOT NULL, dataset VARCHAR(32) NOT NULL, route VARCHAR(64) NOT NULL,
    model_name VARCHAR(255) NOT NULL, model_version VARCHAR(32) NOT NULL, features TEXT NOT NULL,
    prediction VARCHAR(64) NOT NULL, confidence FLOAT NOT NULL, probabilities TEXT NOT NULL, latency_ms FLOAT NOT NULL,
    PRIMARY KEY (id), CONSTRAINT uq_predictions_request_row UNIQUE (request_id, row_index)
) CHARSET=utf8mb4"""


def test_the_per_row_predictions_of_an_older_release_are_read_the_same_through_the_view(mysql_engine):
    rows = [
        {**ROW, "request_id": "r1", "row_index": 0},
        {**ROW, "request_id": "r1", "row_index": 1, "prediction": "Gentoo", "features": json.dumps({"island": "Dream", "x": None})},
        {**ROW, "request_id": "r2", "row_index": 0, "dataset": "covertype", "prediction": "3", "confidence": 0.5},
    ]
    columns = ", ".join(ROW)
    with mysql_engine.begin() as conn:
        conn.execute(text(PER_ROW_PREDICTIONS_DDL))
        conn.execute(text(f"INSERT INTO predictions ({columns}) VALUES ({', '.join(f':{k}' for k in ROW)})"), rows)
    create_tables(mysql_engine)  # a DAG run before airflow-init moved them: the old table is left alone
    assert "predictions" in inspect(mysql_engine).get_table_names()

    assert upgrade_tables(mysql_engine, chunk=2) == ["3 rows of the per-row predictions table moved to prediction_requests, a row each"]
    inspector = inspect(mysql_engine)
    assert "predictions" not in inspector.get_table_names() and inspector.get_view_names() == ["predictions"]
    with mysql_engine.connect() as conn:
        read = conn.execute(text(f"SELECT {columns} FROM predictions ORDER BY request_id, row_index")).mappings().all()
    assert [as_predicted(row) for row in read] == [as_predicted(row) for row in rows]
    assert upgrade_tables(mysql_engine) == []  # a second start changes nothing


def test_a_move_stopped_halfway_is_finished_by_the_next_start_without_doubling(mysql_engine):
    rows = [{**ROW, "request_id": f"r{i}"} for i in range(5)]
    with mysql_engine.begin() as conn:
        conn.execute(text(PER_ROW_PREDICTIONS_DDL.replace("TABLE predictions", f"TABLE {PREDICTIONS_BEFORE_REQUESTS}")))
        conn.execute(text(f"INSERT INTO {PREDICTIONS_BEFORE_REQUESTS} ({', '.join(ROW)}) VALUES ({', '.join(f':{k}' for k in ROW)})"), rows)
    PREDICTION_REQUESTS.create(mysql_engine)
    with mysql_engine.begin() as conn:  # two rows had been copied when it stopped
        columns = ", ".join(REQUEST)
        for i in range(2):
            conn.execute(
                text(f"INSERT INTO prediction_requests ({columns}) VALUES ({', '.join(f':{k}' for k in REQUEST)})"),
                {**REQUEST, "request_id": f"r{i}"},
            )
    assert upgrade_tables(mysql_engine) == ["5 rows of the per-row predictions table moved to prediction_requests, a row each"]
    with mysql_engine.connect() as conn:
        assert conn.execute(text("SELECT request_id FROM predictions ORDER BY request_id")).scalars().all() == [f"r{i}" for i in range(5)]
    assert not inspect(mysql_engine).has_table(PREDICTIONS_BEFORE_REQUESTS)
