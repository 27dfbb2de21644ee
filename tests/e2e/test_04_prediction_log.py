"""Every prediction is recorded: through the running stack into mlops_data (read through the predictions view), by users that may do only that."""

from __future__ import annotations

import json
import os
import uuid

import pymysql
import pytest
import requests

from e2e.load import PENGUIN
from e2e.stack import scalar, wait_for, wait_until


@pytest.fixture(scope="module")
def ready(stack):
    return wait_for(
        lambda: requests.get(f"{stack.inference}/ready", timeout=10).status_code == 200, timeout=180, message="inference /ready"
    )


def connect(user_var: str, user: str, password_var: str, password: str):
    return pymysql.connect(
        host="127.0.0.1",
        port=int(os.environ.get("MYSQL_PORT", 3306)),
        user=os.environ.get(user_var, user),
        password=os.environ.get(password_var, password),
        database=os.environ.get("DATA_DB_NAME", "mlops_data"),
        autocommit=True,
    )


def test_a_prediction_through_the_stack_lands_in_predictions_once(stack, ready, data_db):
    request_id = f"e2e-{uuid.uuid4().hex}"
    answer = requests.post(
        f"{stack.inference}/predict/batch",
        json={"penguins": [PENGUIN, {**PENGUIN, "island": "Dream"}]},
        headers={"X-Request-ID": request_id},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Request-ID"] == request_id
    query = "SELECT row_index, dataset, route, model_name, model_version, features, prediction FROM predictions WHERE request_id = %s ORDER BY row_index"

    def logged():
        with data_db.cursor() as cursor:
            cursor.execute(query, (request_id,))
            return cursor.fetchall()

    rows = wait_until(logged, lambda rows: len(rows) == 2, timeout=30, message="both rows of the prediction in predictions")
    body = answer.json()
    assert [r[0] for r in rows] == [0, 1]
    assert {(r[1], r[2], r[3], r[4]) for r in rows} == {("penguins", "/predict/batch", body["model"], body["version"])}
    assert json.loads(rows[1][5]) == {**PENGUIN, "island": "Dream"}
    assert [r[6] for r in rows] == [p["species"] for p in body["predictions"]]
    assert scalar(data_db, "SELECT COUNT(*) FROM predictions WHERE request_id = %s", request_id) == 2

    metrics = requests.get(f"{stack.inference}/metrics", timeout=10).text
    assert 'predictions_dropped_total{reason="db_error"} 0.0' in metrics
    assert "predictions_logged_total" in metrics and 'inference_model_ready{model="penguins-classifier"} 1.0' in metrics


def test_the_monitoring_users_may_do_only_their_part(ready):
    writer = connect("PREDICTIONS_DB_USER", "predictions_writer", "PREDICTIONS_DB_PASSWORD", "change-me-predictions")
    reader = connect("MONITOR_DB_USER", "monitor_reader", "MONITOR_DB_PASSWORD", "change-me-monitor")
    try:
        for table in ("predictions", "prediction_requests"):
            with pytest.raises(pymysql.err.OperationalError, match="denied"), writer.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
        with pytest.raises(pymysql.err.OperationalError, match="denied"), writer.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM penguins_clean")
        for table in ("predictions", "prediction_requests", "model_quality", "feature_drift", "retrain_triggers"):
            assert scalar(reader, f"SELECT COUNT(*) FROM {table}") >= 0
        with pytest.raises(pymysql.err.OperationalError, match="denied"), reader.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM covertype_raw")
        for table in ("predictions", "prediction_requests"):
            with pytest.raises(pymysql.err.OperationalError, match="denied"), reader.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table}")
    finally:
        writer.close()
        reader.close()
