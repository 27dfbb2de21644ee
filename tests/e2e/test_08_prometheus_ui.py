"""Prometheus scrapes the stack and evaluates its rules; the UI's Monitoring tab,
in Chromium, shows charts whose numbers are the monitoring tables'."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import pymysql
import pytest
import requests

from e2e.load import COVER, PENGUIN
from e2e.stack import OUTPUT, covertype_monitoring_tab, scalar, url, wait_for, wait_until

PROMETHEUS = url("PROMETHEUS_PORT", 9090)
MONITORING_TABLES = ("predictions", "model_quality", "feature_drift", "retrain_triggers")
MODELS = ("penguins-classifier", "covertype-classifier")


def query(expr: str) -> list[dict]:
    response = requests.get(f"{PROMETHEUS}/api/v1/query", params={"query": expr}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]["result"]


def series(expr: str, label: str) -> dict[str, float]:
    """The query's current values by one label (the largest where several series share it)."""
    values: dict[str, float] = {}
    for result in query(expr):
        key = result["metric"].get(label, "")
        values[key] = max(values.get(key, 0.0), float(result["value"][1]))
    return values


@pytest.fixture(scope="module")
def root_db():
    """The data database as MySQL's root: the test writes crafted monitoring rows, as the monitor would."""
    conn = pymysql.connect(
        host="127.0.0.1",
        port=int(os.environ.get("MYSQL_PORT", 3306)),
        user="root",
        password=os.environ.get("MYSQL_ROOT_PASSWORD", "change-me-mysql-root"),
        database=os.environ.get("DATA_DB_NAME", "mlops_data"),
        autocommit=True,
    )
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def monitoring_tables(root_db):
    """The four tables (made by airflow-init) and MONITOR_DB_USER (made by mysql/init) are there."""
    with root_db.cursor() as cursor:
        cursor.execute("SHOW TABLES")
        existing = {row[0] for row in cursor.fetchall()}
        assert set(MONITORING_TABLES) <= existing, existing
        cursor.execute("SELECT COUNT(*) FROM mysql.user WHERE user = %s", (os.environ.get("MONITOR_DB_USER", "monitor_reader"),))
        assert cursor.fetchone()[0] == 1
    return root_db


def test_prometheus_scrapes_inference_and_data_api():
    for job in ("inference", "data_api"):
        up = wait_for(lambda job=job: query(f'up{{job="{job}"}} == 1'), timeout=90, interval=3, message=f"{job} up in Prometheus")
        assert {r["metric"]["job"] for r in up} == {job}
    targets = requests.get(f"{PROMETHEUS}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    # Found by a DNS lookup of the service name (one target per replica).
    assert any(t["labels"]["job"] == "inference" and t["labels"]["instance"].endswith(":8989") for t in targets)


def test_rules_are_loaded():
    groups = requests.get(f"{PROMETHEUS}/api/v1/rules", timeout=10).json()["data"]["groups"]
    names = {rule["name"] for group in groups for rule in group["rules"]}
    assert {"InferenceHigh5xxRate", "ModelNotReady", "LiveAccuracyBelowBaseline", "ScrapeTargetDown", "PredictionLogDropping"} <= names
    assert {"route:inference_request_duration_seconds:p99_5m", "model_version:inference_prediction_duration_seconds:p99_5m"} <= names
    assert all(rule.get("health") in ("ok", "unknown") for group in groups for rule in group["rules"]), groups


def test_p99_latency_after_predictions(stack):
    for _ in range(20):
        assert requests.post(f"{stack.inference}/predict/penguins", json=PENGUIN, timeout=30).status_code == 200
        assert requests.post(f"{stack.inference}/predict/covertype", json=COVER, timeout=30).status_code == 200
        time.sleep(0.5)
    # Two scrapes inside the 5-minute window, then a rule evaluation: under a minute.
    # Each series appears at its own rule evaluation: wait until every one asserted below is there.
    p99 = wait_until(
        lambda: series('route:inference_request_duration_seconds:p99_5m{route="/predict/{dataset}"} > 0', "route"),
        lambda seen: "/predict/{dataset}" in seen,
        timeout=120,
        interval=5,
        message="the p99 latency of /predict/{dataset}",
    )
    assert all(0 < value < 10 for value in p99.values()), p99
    assert series('route:inference_requests:rate5m{route="/predict/{dataset}"} > 0', "route")
    per_model = wait_until(
        lambda: series("model_version:inference_prediction_duration_seconds:p99_5m > 0", "model"),
        lambda seen: set(MODELS) <= set(seen),
        timeout=120,
        interval=5,
        message=f"a per-model p99 of the model time for each of {MODELS}",
    )
    assert all(0 < value < 10 for value in per_model.values()), per_model


def stable_count(conn, sql: str, *args) -> int:
    """A count that has stopped moving (inference writes its log a second or so after answering)."""

    def settled():
        first = scalar(conn, sql, *args)
        time.sleep(3)
        return (first,) if scalar(conn, sql, *args) == first else None

    return wait_for(settled, timeout=60, interval=0, message="the prediction log to settle")[0]


def test_the_monitoring_tab_shows_the_tables(stack, browser, monitoring_tables):
    conn = monitoring_tables
    marker = uuid.uuid4().hex[:8]
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    # Three scored batches of a version, as the live-accuracy task writes them; newest last.
    rows = [("9003", 0.91, 0.92), ("9003", 0.84, 0.92), ("9004", 0.72, 0.95)]
    with conn.cursor() as cursor:
        for i, (version, accuracy, baseline) in enumerate(rows):
            cursor.execute(
                "INSERT INTO model_quality (dataset, model_name, model_version, batch_key, group_number, batch_number, rows_scored, "
                "accuracy, f1_macro, baseline_accuracy, baseline_f1_macro, mlflow_run_id, measured_at) "
                "VALUES ('covertype', 'covertype-classifier', %s, %s, 1, %s, 1000, %s, %s, %s, %s, NULL, %s)",
                (version, f"{marker}-{i}", i + 1, accuracy, accuracy - 0.05, baseline, baseline - 0.05, now + timedelta(minutes=1 + i)),
            )
    # test_p99_latency_after_predictions has predicted; what inference logged of it is counted here.
    window = "dataset = 'covertype' AND predicted_at >= UTC_TIMESTAMP() - INTERVAL 6 HOUR"
    logged = stable_count(conn, f"SELECT COUNT(*) FROM predictions WHERE {window}")
    batches = scalar(conn, "SELECT COUNT(*) FROM model_quality WHERE dataset = 'covertype'")

    with covertype_monitoring_tab(browser, stack) as ui:
        charts = ui.monitoring_charts()
        quality = ui.headline_metrics(within="monitoring_quality")
        mix = ui.headline_metrics(within="monitoring_class_mix")
        ui.screenshot(OUTPUT / "ui-monitoring-covertype.png")
        alerts = ui.alerts()
    assert not [a for a in alerts if "cannot" in a], alerts
    assert quality["Scored batches"] == f"{min(batches, 500):,}"
    assert quality["Latest accuracy (v9004)"] == "0.720"
    assert quality["Baseline (test accuracy)"] == "0.950"
    assert charts["monitoring_quality"] == 1
    # test_p99_latency_after_predictions logged covertype predictions: the class mix has rows to show.
    assert logged > 0
    assert mix["Predictions logged"] == f"{logged:,}"
    assert charts["monitoring_class_mix"] == 1
    # Requests and latency from Prometheus (the predictions above are in its window).
    assert charts.get("monitoring_traffic", 0) >= 1, charts
