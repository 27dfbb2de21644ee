"""The prediction log against a real MySQL server (TEST_MYSQL_URL) and real registered models (TEST_MLFLOW_URI).

The table is made from contract/monitoring-tables.json (airflow owns the schema) and
written by a user that may only insert into it, as in the compose stack.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import PREDICTION_LOG, monitoring_db, wait_until
from prometheus_client.parser import text_string_to_metric_families
from specs import COVER_ROW, PENGUIN_ROW
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.exc import OperationalError

pytestmark = pytest.mark.mlflow

CONTRACT = json.loads((Path(__file__).resolve().parents[2] / "contract" / "monitoring-tables.json").read_text())
PREDICTIONS = CONTRACT["tables"]["predictions"]
COLUMNS = [c["name"] for c in PREDICTIONS["columns"]]
# A caller's id with the characters SQL and format strings treat specially.
BATCH_ID = "client'batch%s\\1"


@pytest.fixture
def predictions_db():
    """A fresh database with the prediction log's table and view, and a URL of a user that may only insert into the table."""
    with monitoring_db(*PREDICTION_LOG) as made:
        yield made


@pytest.fixture
def logging_client(registered, mlflow_uri, predictions_db):
    """start(**settings): the app serving both registered models, its prediction log on the test database."""
    from fastapi.testclient import TestClient

    import mlflow
    from inference.main import create_app
    from inference.settings import Settings

    names = registered["names"]
    running = []

    def start(**extra):
        mlflow.set_tracking_uri("file:///nonexistent-tracking")
        mlflow.set_registry_uri("file:///nonexistent-registry")
        settings = {
            "mlflow_tracking_uri": mlflow_uri,
            "models": f"{names['penguins']},{names['covertype']}",
            "penguins_model": names["penguins"],
            "covertype_model": names["covertype"],
            "refresh_seconds": 0.5,
            "prediction_log": "on",
            "prediction_log_db_url": predictions_db[0],
            "prediction_log_flush_seconds": 0.2,
            **extra,
        }
        client = TestClient(create_app(Settings(**settings)))
        client.__enter__()
        running.append(client)
        wait_until(lambda: client.get("/ready").status_code == 200, message="/ready")
        return client

    yield start
    for client in running:
        stop(client)


def stop(client) -> None:
    """Shut the app down (its lifespan flushes the log); twice is harmless."""
    if not getattr(client, "_stopped", False):
        client._stopped = True
        client.__exit__(None, None, None)


def rows_of(reader, *request_ids: str) -> list[dict]:
    with reader.connect() as conn:
        query = text("SELECT * FROM predictions WHERE request_id IN :ids ORDER BY request_id, row_index")
        result = conn.execute(query.bindparams(bindparam("ids", expanding=True)), {"ids": list(request_ids)})
        return [dict(row._mapping) for row in result]


def count(reader) -> int:
    with reader.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM predictions")).scalar_one()


def metric(client, name: str, **labels) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name}{labels} is not in /metrics")


def test_every_prediction_route_lands_once_with_the_contract_columns(logging_client, predictions_db, registered):
    _, reader = predictions_db
    names = registered["names"]
    client = logging_client()
    started = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)

    one = client.post(f"/predict/{registered['prefix']}-penguins", json=PENGUIN_ROW)
    rows = [COVER_ROW, {**COVER_ROW, "Elevation": 3500}, {**COVER_ROW, "Soil_Type": "C5151"}]
    batch = client.post(f"/models/{names['covertype']}/predict", json={"rows": rows}, headers={"X-Request-ID": BATCH_ID})
    spec = client.get(f"/models/{names['covertype']}").json()["feature_spec"]
    features = [COVER_ROW[f["name"]] for f in spec["features"]]
    original = client.post("/predict", json={"features": features})
    penguins = client.post("/predict/batch", json={"penguins": [PENGUIN_ROW, {**PENGUIN_ROW, "sex": None}]})
    for response in (one, batch, original, penguins):
        assert response.status_code == 200, response.text
    assert batch.headers["X-Request-ID"] == BATCH_ID
    generated = one.headers["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0  # uuid4 hex
    ids = [r.headers["X-Request-ID"] for r in (one, batch, original, penguins)]
    assert len(set(ids)) == 4

    wait_until(lambda: len(rows_of(reader, *ids)) == 1 + 3 + 1 + 2, timeout=20, message="7 rows in predictions")
    stop(client)  # the shutdown flush must not write them again
    logged = rows_of(reader, *ids)
    assert len(logged) == 7 and count(reader) == 7
    assert all(list(row) == COLUMNS for row in logged)  # exactly the contract's columns

    by_request = {rid: [row for row in logged if row["request_id"] == rid] for rid in ids}
    [single] = by_request[ids[0]]
    answer = one.json()["predictions"][0]
    assert single["row_index"] == 0 and single["dataset"] == "penguins"
    assert single["route"] == f"/predict/{registered['prefix']}-penguins"
    assert (single["model_name"], single["model_version"]) == (names["penguins"], "1")
    assert json.loads(single["features"]) == PENGUIN_ROW
    assert single["prediction"] == answer["label"]
    assert single["confidence"] == pytest.approx(answer["confidence"], rel=1e-6)
    assert json.loads(single["probabilities"]) == pytest.approx(answer["probabilities"])
    assert single["latency_ms"] > 0
    assert started <= single["predicted_at"] <= datetime.now(UTC).replace(tzinfo=None)

    batch_rows = by_request[BATCH_ID]
    assert [r["row_index"] for r in batch_rows] == [0, 1, 2]
    assert [json.loads(r["features"]) for r in batch_rows] == rows
    assert [r["prediction"] for r in batch_rows] == [str(p["label"]) for p in batch.json()["predictions"]]
    assert {r["dataset"] for r in batch_rows} == {"covertype"} and {r["route"] for r in batch_rows} == {
        f"/models/{names['covertype']}/predict"
    }
    assert len({r["latency_ms"] for r in batch_rows}) == 1  # the request's model time, shared

    [cover] = by_request[ids[2]]
    assert cover["route"] == "/predict" and cover["dataset"] == "covertype"
    assert json.loads(cover["features"]) == {f["name"]: COVER_ROW[f["name"]] for f in spec["features"]}
    assert cover["prediction"] == str(original.json()["prediction"])
    assert [r["prediction"] for r in by_request[ids[3]]] == [p["species"] for p in penguins.json()["predictions"]]
    assert by_request[ids[3]][1]["route"] == "/predict/batch" and json.loads(by_request[ids[3]][1]["features"])["sex"] is None

    assert metric(client, "predictions_logged_total") == 7
    assert metric(client, "predictions_dropped_total", reason="db_error") == 0
    assert metric(client, "inference_prediction_duration_seconds_count", model=names["covertype"], version="1") == 2
    assert metric(client, "inference_model_ready", model=names["penguins"]) == 1


def test_a_bad_request_id_is_refused_and_logs_nothing(logging_client, predictions_db, registered):
    _, reader = predictions_db
    client = logging_client()
    answer = client.post(f"/predict/{registered['prefix']}-penguins", json=PENGUIN_ROW, headers={"X-Request-ID": "x" * 65})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["header", "X-Request-ID"]
    stop(client)
    assert count(reader) == 0


def test_a_flush_retried_after_a_failure_writes_nothing_twice(logging_client, predictions_db, registered, monkeypatch):
    """The first try writes its rows and then fails (the connection lost before the commit was acknowledged)."""
    from inference.prediction_log import PredictionLog

    _, reader = predictions_db
    real = PredictionLog._execute
    tries = []

    def written_then_lost(self, document, rows):
        tries.append(rows)
        real(self, document, rows)
        if len(tries) == 1:
            raise OperationalError("INSERT", {}, ConnectionResetError("lost after the commit"))

    monkeypatch.setattr(PredictionLog, "_execute", written_then_lost)
    client = logging_client()
    rows = [PENGUIN_ROW, {**PENGUIN_ROW, "island": "Dream"}, {**PENGUIN_ROW, "body_mass_g": 5000}]
    answer = client.post(f"/predict/{registered['prefix']}-penguins", json={"rows": rows})
    assert answer.status_code == 200
    wait_until(lambda: metric(client, "predictions_logged_total") == 3, timeout=20, message="logged after the retry")
    assert tries == [3, 3]  # written, failed, written again
    stop(client)
    assert [r["row_index"] for r in rows_of(reader, answer.headers["X-Request-ID"])] == [0, 1, 2]
    assert count(reader) == 3
    assert metric(client, "predictions_dropped_total", reason="db_error") == 0


def test_a_full_queue_drops_whole_requests_and_counts_them(logging_client, predictions_db, registered):
    _, reader = predictions_db
    # Nothing is flushed before shutdown: 5 rows fit, then a request of 3 does not.
    client = logging_client(prediction_log_queue_rows=5, prediction_log_flush_seconds=600)
    route = f"/predict/{registered['prefix']}-penguins"
    first = client.post(route, json={"rows": [PENGUIN_ROW] * 3})
    dropped = client.post(route, json={"rows": [PENGUIN_ROW] * 3})
    last = client.post(route, json=PENGUIN_ROW)
    assert [r.status_code for r in (first, dropped, last)] == [200, 200, 200]
    assert metric(client, "predictions_dropped_total", reason="queue_full") == 3
    assert metric(client, "prediction_log_queue_rows") == 4
    stop(client)  # flushes the queue
    ids = [r.headers["X-Request-ID"] for r in (first, dropped, last)]
    assert [len(rows_of(reader, rid)) for rid in ids] == [3, 0, 1]


def test_sampling_keeps_whole_requests_and_zero_logs_nothing(logging_client, predictions_db, registered):
    _, reader = predictions_db
    route = f"/predict/{registered['prefix']}-penguins"
    none = logging_client(prediction_log_sample=0.0)
    for _ in range(10):
        assert none.post(route, json={"rows": [PENGUIN_ROW] * 2}).status_code == 200
    stop(none)
    assert count(reader) == 0
    assert metric(none, "predictions_dropped_total", reason="queue_full") == 0  # sampled out is no drop

    half = logging_client(prediction_log_sample=0.5)
    ids = [half.post(route, json={"rows": [PENGUIN_ROW] * 3}).headers["X-Request-ID"] for _ in range(40)]
    stop(half)
    kept = [len(rows_of(reader, rid)) for rid in ids]
    assert set(kept) == {0, 3}  # a batch is all or nothing, and some of each (odds of failing: 2**-39)


def test_prediction_log_off_never_connects(registered, mlflow_uri):
    """A listening socket as the database: with the log off nothing connects to it; on, the writer does."""
    from fastapi.testclient import TestClient

    import mlflow
    from inference.main import create_app
    from inference.settings import Settings

    names = registered["names"]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.5)
        url = f"mysql+pymysql://nobody:nothing@127.0.0.1:{listener.getsockname()[1]}/mlops_data"

        def connections(mode: str) -> int:
            mlflow.set_tracking_uri("file:///nonexistent-tracking")
            mlflow.set_registry_uri("file:///nonexistent-registry")
            settings = Settings(
                mlflow_tracking_uri=mlflow_uri,
                models=names["penguins"],
                prediction_log=mode,
                prediction_log_db_url=url,
                prediction_log_attempts=1,
                prediction_log_db_timeout_seconds=1,
                prediction_log_flush_seconds=0.1,
            )
            accepted = []
            with TestClient(create_app(settings)) as client:
                wait_until(lambda: client.get("/ready").status_code == 200, message="/ready")
                assert (client.app.state.prediction_log is None) == (mode == "off")  # type: ignore[attr-defined]
                for _ in range(5):
                    assert client.post(f"/models/{names['penguins']}/predict", json=PENGUIN_ROW).status_code == 200
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    try:
                        connection, _ = listener.accept()
                    except TimeoutError:
                        continue
                    accepted.append(connection)
                    connection.close()  # the writer's try fails; counted as db_error
            return len(accepted)

        assert connections("off") == 0
        assert connections("on") >= 1  # the check above can see a connection


def compose(*args: str) -> None:
    base = os.environ.get("TEST_SERVICES_COMPOSE")
    if not base:
        pytest.skip("TEST_SERVICES_COMPOSE is not set (scripts/test.sh sets it to the compose command of the test services)")
    subprocess.run([*shlex.split(base), *args], check=True, capture_output=True, timeout=300)


def test_mysql_stopped_mid_stream_loses_no_answer_and_counts_the_drops(logging_client, predictions_db, registered):
    """Last in this file: it stops the test services' MySQL (which MLflow uses too) and starts it again."""
    writer_url, reader = predictions_db
    client = logging_client(prediction_log_attempts=2, prediction_log_db_timeout_seconds=2, prediction_log_queue_rows=300)
    route = f"/predict/{registered['prefix']}-penguins"
    statuses: list[int] = []
    sent: list[str] = []
    stop_sending = threading.Event()

    def stream() -> None:
        while not stop_sending.is_set():
            answer = client.post(route, json=PENGUIN_ROW)
            statuses.append(answer.status_code)
            sent.append(answer.headers.get("X-Request-ID", ""))
            time.sleep(0.005)

    sender = threading.Thread(target=stream)
    sender.start()
    try:
        wait_until(lambda: count(reader) >= 20, timeout=30, message="rows before the outage")
        compose("stop", "mysql")
        try:
            wait_until(
                lambda: (
                    metric(client, "predictions_dropped_total", reason="db_error")
                    + metric(client, "predictions_dropped_total", reason="queue_full")
                    > 0
                ),
                timeout=60,
                message="drops counted while MySQL is down",
            )
            during = len(sent)
            time.sleep(2)  # answers go on while MySQL is away
            assert len(sent) > during
        finally:
            compose("start", "mysql")
        wait_until(lambda: _reachable(writer_url), timeout=120, message="MySQL back")
        resumed_from = len(sent)
        wait_until(
            lambda: count(reader) > 0 and bool(rows_of(reader, *sent[resumed_from + 5 : resumed_from + 6])),
            timeout=60,
            message="logging resumed",
        )
    finally:
        stop_sending.set()
        sender.join(30)
        compose("start", "mlflow")  # in case stopping MySQL took its dependant along
    assert statuses and set(statuses) == {200}  # not one answer lost
    stop(client)
    dropped = metric(client, "predictions_dropped_total", reason="db_error") + metric(
        client, "predictions_dropped_total", reason="queue_full"
    )
    assert dropped > 0
    # Every answered prediction was counted as either written or dropped...
    logged = metric(client, "predictions_logged_total")
    assert logged + dropped == len(sent)
    # ...and is in the table at most once. A flush cut off by the shutdown may have been
    # committed without MySQL saying so: counted as dropped, yet in the table.
    with reader.connect() as conn:
        distinct = conn.execute(text("SELECT COUNT(DISTINCT request_id) FROM predictions")).scalar_one()
    assert logged <= count(reader) == distinct <= len(sent)


def _reachable(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()
