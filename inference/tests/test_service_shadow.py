"""Shadow scoring against a real MySQL server (TEST_MYSQL_URL) and real registered models (TEST_MLFLOW_URI).

Each model has a production version and a challenger version; the challenger's shadow
predictions land in `shadow_predictions` (made from contract/monitoring-tables.json),
written by a user that may only insert, never in `predictions`.
"""

from __future__ import annotations

import uuid

import pytest
from conftest import MONITORING_CONTRACT, PREDICTION_LOG, log_version, monitoring_db, wait_until
from models import synthetic
from specs import COVERTYPE_SPEC, PENGUIN_ROW, PENGUINS_SPEC
from sqlalchemy import text
from test_service_prediction_log import metric, stop

pytestmark = pytest.mark.mlflow

SHADOW_COLUMNS = [c["name"] for c in MONITORING_CONTRACT["tables"]["shadow_predictions"]["columns"]]


@pytest.fixture(scope="module")
def pair(mlflow_uri):
    """Penguins and Covertype models with version 1 in production and version 2 (another family) as challenger."""
    from mlflow import MlflowClient

    prefix = f"s{uuid.uuid4().hex[:8]}"
    names = {"penguins": f"{prefix}-penguins-classifier", "covertype": f"{prefix}-covertype-classifier"}
    for dataset, spec in (("penguins", PENGUINS_SPEC), ("covertype", COVERTYPE_SPEC)):
        assert log_version(names[dataset], spec, "lr") == "1"
        assert log_version(names[dataset], spec, "rf", seed=3) == "2"
    client = MlflowClient()
    for name in names.values():
        client.set_registered_model_alias(name, "production", "1")
        client.set_registered_model_alias(name, "challenger", "2")
    return {"prefix": prefix, "names": names, "client": client}


@pytest.fixture
def shadow_db():
    with monitoring_db(*PREDICTION_LOG, "shadow_predictions") as made:
        yield made


@pytest.fixture
def shadow_client(pair, make_client, shadow_db):
    names = pair["names"]
    client = make_client(
        f"{names['penguins']},{names['covertype']}",
        penguins_model=names["penguins"],
        covertype_model=names["covertype"],
        prediction_log="on",
        prediction_log_db_url=shadow_db[0],
        prediction_log_flush_seconds=0.2,
    )
    for name in names.values():
        wait_until(lambda name=name: client.get(f"/models/{name}/shadow").json()["challenger_version"] == "2", message="the challenger")
    return client


def query(reader, sql: str) -> list[dict]:
    with reader.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(sql))]


def cover_bodies(n: int) -> list[tuple[list, int]]:
    """Rows within the Covertype spec as the original client sends them: its feature values in order, and the true class."""
    frame, labels = synthetic(COVERTYPE_SPEC, n, seed=11)
    out = []
    for record, label in zip(frame.to_dict("records"), labels, strict=True):
        values = [int(record[f["name"]]) if f["type"] == "integer" else record[f["name"]] for f in COVERTYPE_SPEC["features"]]
        out.append(([v.item() if hasattr(v, "item") else v for v in values], int(label)))
    return out


def test_the_challenger_scores_productions_traffic_in_shadow_until_its_alias_moves(pair, shadow_client, shadow_db):
    client, (_, reader), names = shadow_client, shadow_db, pair["names"]
    penguins, covertype = names["penguins"], names["covertype"]

    one = client.post(f"/predict/{pair['prefix']}-penguins", json=PENGUIN_ROW)
    batch_rows = [PENGUIN_ROW, {**PENGUIN_ROW, "bill_length_mm": 33.0}, {**PENGUIN_ROW, "island": "Dream", "sex": None}]
    batch = client.post(f"/models/{penguins}/predict", json={"rows": batch_rows})
    covers = cover_bodies(8)
    originals = [client.post("/predict", json={"features": [*values, label]}) for values, label in covers]
    # A caller's own choice of version or alias is not production's traffic: never shadowed.
    chosen = [
        client.post(f"/predict/{pair['prefix']}-penguins?version=1", json=PENGUIN_ROW),
        client.post(f"/models/{penguins}/predict?alias=production", json=PENGUIN_ROW),
    ]
    for answer in (one, batch, *originals, *chosen):
        assert answer.status_code == 200, answer.text
    # Production answers; the challenger is never the one asked.
    assert {o.json()["version"] for o in originals} == {"1"} and one.json()["version"] == "1"

    wait_until(lambda: query(reader, "SELECT COUNT(*) AS n FROM shadow_predictions")[0]["n"] == 1 + 3 + 8, timeout=30, message="12 rows")
    shadowed = query(reader, "SELECT * FROM shadow_predictions ORDER BY id")
    assert all(list(row) == SHADOW_COLUMNS for row in shadowed)
    assert {(r["model_name"], r["production_version"], r["challenger_version"]) for r in shadowed} == {
        (penguins, "1", "2"),
        (covertype, "1", "2"),
    }
    chosen_ids = {a.headers["X-Request-ID"] for a in chosen}
    assert not chosen_ids & {r["request_id"] for r in shadowed}
    # Production's rows stay in predictions alone; each shadow row points at one of them.
    wait_until(lambda: len(query(reader, "SELECT request_id FROM predictions")) == 14, timeout=30, message="14 rows in predictions")
    logged = {(r["request_id"], r["row_index"]): r for r in query(reader, "SELECT * FROM predictions")}
    for row in shadowed:
        assert row["production_prediction"] == logged[(row["request_id"], row["row_index"])]["prediction"]
        assert row["agree"] == (row["prediction"] == row["production_prediction"])

    # The challenger's prediction is what version 2 answers for the same row.
    by_request = {r["request_id"]: r for r in shadowed if r["model_name"] == covertype}
    for answer, (values, label) in zip(originals, covers, strict=True):
        row = by_request[answer.headers["X-Request-ID"]]
        own = client.post("/predict?version=2", json={"features": values}).json()
        assert (row["prediction"], row["actual"], row["route"], row["dataset"]) == (
            str(own["prediction"]),
            str(label),
            "/predict",
            "covertype",
        )
        assert row["confidence"] == pytest.approx(own["confidence"], rel=1e-5)
        assert row["production_prediction"] == str(answer.json()["prediction"])
    batch_shadow = sorted((r for r in shadowed if r["request_id"] == batch.headers["X-Request-ID"]), key=lambda r: r["row_index"])
    assert [r["row_index"] for r in batch_shadow] == [0, 1, 2] and {r["actual"] for r in batch_shadow} == {None}

    # The counters and the route say the same as the table.
    for name, n in ((penguins, 4), (covertype, 8)):
        rows = [r for r in shadowed if r["model_name"] == name]
        agreed = sum(r["agree"] for r in rows)
        labels = {"model": name, "production_version": "1", "challenger_version": "2"}
        assert metric(client, "inference_shadow_rows_total", **labels, agreement="agree") == agreed
        assert metric(client, "inference_shadow_rows_total", **labels, agreement="disagree") == n - agreed
        report = client.get(f"/models/{name}/shadow").json()
        assert (report["production_version"], report["challenger_version"], report["enabled"]) == ("1", "2", True)
        [scored] = report["pairs"]
        assert (scored["rows"], scored["agreed"]) == (n, agreed)
        assert scored["agreement_rate"] == pytest.approx(agreed / n)
    covers_rows = [r for r in shadowed if r["model_name"] == covertype]
    production_right = sum(r["production_prediction"] == r["actual"] for r in covers_rows)
    challenger_right = sum(r["prediction"] == r["actual"] for r in covers_rows)
    labels = {"model": covertype, "production_version": "1", "challenger_version": "2"}
    assert metric(client, "inference_shadow_actual_rows_total", **labels, role="production", outcome="correct") == production_right
    assert metric(client, "inference_shadow_actual_rows_total", **labels, role="challenger", outcome="wrong") == 8 - challenger_right
    [scored] = client.get(f"/models/{covertype}/shadow").json()["pairs"]
    assert scored["rows_with_actual"] == 8
    assert scored["production_accuracy"] == pytest.approx(production_right / 8)
    assert scored["challenger_accuracy"] == pytest.approx(challenger_right / 8)
    assert client.get(f"/models/{penguins}/shadow").json()["pairs"][0]["rows_with_actual"] == 0
    assert metric(client, "shadow_predictions_logged_total") == 12
    assert metric(client, "inference_shadow_dropped_rows_total", reason="rejected") == 0

    # The challenger alias moves away: nothing more is scored in shadow.
    pair["client"].delete_registered_model_alias(covertype, "challenger")
    wait_until(lambda: client.get(f"/models/{covertype}/shadow").json()["challenger_version"] is None, message="no challenger")
    later = [client.post("/predict", json={"features": [*values, label]}) for values, label in covers[:3]]
    assert all(a.status_code == 200 for a in later)
    stop(client)  # the shutdown scores and writes whatever was queued
    assert len(query(reader, "SELECT * FROM shadow_predictions")) == 12
    assert len(query(reader, "SELECT * FROM predictions")) == 14 + 8 + 3  # the version 2 answers above included
    pair["client"].set_registered_model_alias(covertype, "challenger", "2")


def test_with_shadow_off_nothing_is_scored(pair, make_client, shadow_db):
    names, (_, reader) = pair["names"], shadow_db
    client = make_client(
        names["penguins"], prediction_log="on", prediction_log_db_url=shadow_db[0], prediction_log_flush_seconds=0.2, shadow="off"
    )
    assert client.post(f"/models/{names['penguins']}/predict", json=PENGUIN_ROW).status_code == 200
    report = client.get(f"/models/{names['penguins']}/shadow").json()
    assert (report["enabled"], report["challenger_version"], report["pairs"]) == (False, None, [])
    stop(client)
    assert len(query(reader, "SELECT * FROM predictions")) == 1
    assert query(reader, "SELECT * FROM shadow_predictions") == []
