"""A drift check against real MySQL and MLflow: rows in feature_drift, the HTML report in MLflow."""

import json
import uuid
from datetime import datetime, timedelta

import pytest
from monitoring_helpers import covertype_rows, ingest, train, unique
from sqlalchemy import insert, select, text

from mlops_pipelines import mlflow_names as names
from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.monitoring import drift_check
from mlops_pipelines.storage import utcnow
from mlops_pipelines.tables import FEATURE_DRIFT, PREDICTION_REQUESTS, create_tables

pytestmark = [pytest.mark.mysql, pytest.mark.mlflow]


def predictions_table(engine, rows):
    """One-row requests in the prediction log (the platform's own table, made by create_tables) as inference writes them."""
    with engine.begin() as conn:
        conn.execute(
            insert(PREDICTION_REQUESTS),
            [
                {
                    "request_id": uuid.uuid4().hex,
                    "first_row_index": 0,
                    "n_rows": 1,
                    "predicted_at": at,
                    "dataset": "covertype",
                    "route": "/predict/covertype",
                    "model_name": "covertype-classifier",
                    "model_version": "1",
                    "row_predictions": json.dumps([[features, "1", 1.0, {}]]),
                    "latency_ms": 1.0,
                }
                for at, features in rows
            ],
        )


def test_shifted_elevation_is_flagged_in_both_sources_and_reported(mysql_engine, client):
    create_tables(mysql_engine)
    name = unique("t-drift")
    assert drift_check.run_check(mysql_engine, client, COVERTYPE, unique("check"), 24, model_name=name) is None  # no production yet
    ingest(mysql_engine, covertype_rows(600, seed=1), 1, 1, datetime(2026, 11, 30, 12, 0, 0))
    train(mysql_engine, name)
    end = utcnow().replace(microsecond=0) + timedelta(minutes=1)

    # New rows from high up the mountain only: Elevation shifts, nothing else does.
    with mysql_engine.begin() as conn:  # the training rows were validated long ago
        conn.execute(text("UPDATE covertype_clean SET validated_at = :old"), {"old": end - timedelta(days=3)})
    ingest(mysql_engine, covertype_rows(400, seed=2, elevation=(3400, 3858)), 1, 2, datetime(2026, 11, 30, 12, 5, 0))
    shifted = covertype_rows(300, seed=3, elevation=(3400, 3858)).drop(columns=["Cover_Type"])
    predictions_table(
        mysql_engine,
        [
            (end - timedelta(minutes=10), {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()})
            for row in shifted.to_dict("records")
        ]
        + [(end - timedelta(days=2), {"Elevation": 1}) for _ in range(5)],  # outside the window
    )

    check_id = unique("check")
    summary = drift_check.run_check(mysql_engine, client, COVERTYPE, check_id, 24, end=end, model_name=name)
    assert summary["rows"] == {"predictions": 300, "ingested": 400}
    for source in ("predictions", "ingested"):
        assert summary["drifted"][source][:1] == ["Elevation"], summary
        assert summary["drifted_share"][source] < 0.5
    with mysql_engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(FEATURE_DRIFT).where(FEATURE_DRIFT.c.check_id == check_id)).mappings()]
    assert len(rows) == 2 * len(COVERTYPE.features)
    elevation = {r["source"]: r for r in rows if r["feature"] == "Elevation"}
    # statistic: the PSI; p_value: the KS test's, Benjamini-Hochberg adjusted over the source's 12 features.
    assert all(r["drifted"] and r["method"] == "ks" and r["statistic"] > 0.2 and r["p_value"] < 1e-6 for r in elevation.values())
    assert {r["method"] for r in rows if r["feature"] == "Soil_Type"} == {"chi2"}
    assert {r["report_run_id"] for r in rows} == {summary["report_run_id"]}
    assert rows[0]["window_end"] == end and rows[0]["window_start"] == end - timedelta(hours=24)

    # The report is an artifact of the run, which is tagged with the check.
    run = client.get_run(summary["report_run_id"])
    assert (
        run.data.tags[names.TAG_MONITOR_CHECK] == check_id
        and run.data.metrics["drifted_share_ingested"] == summary["drifted_share"]["ingested"]
    )
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == [names.DRIFT_REPORT_FILE]
    path = client.download_artifacts(run.info.run_id, names.DRIFT_REPORT_FILE)
    report = open(path).read()
    assert "Elevation" in report and "ingested:" in report and name in report

    # A retried check writes nothing twice and reuses its run.
    again = drift_check.run_check(mysql_engine, client, COVERTYPE, check_id, 24, end=end, model_name=name)
    assert again["report_run_id"] == summary["report_run_id"]
    with mysql_engine.connect() as conn:
        assert len(conn.execute(select(FEATURE_DRIFT.c.id).where(FEATURE_DRIFT.c.check_id == check_id)).all()) == len(rows)


def test_without_a_predictions_table_only_ingested_rows_are_compared(mysql_engine):
    create_tables(mysql_engine)
    with mysql_engine.begin() as conn:  # a platform whose airflow-init has not made it yet
        conn.execute(text("DROP VIEW predictions"))
        conn.execute(text("DROP TABLE prediction_requests"))
    frame = drift_check.prediction_rows(mysql_engine, COVERTYPE, datetime(2026, 1, 1), datetime(2027, 1, 1))
    assert frame.empty and list(frame.columns) == COVERTYPE.feature_names


def test_the_window_s_newest_requests_are_read_and_no_more_rows_than_asked(mysql_engine):
    create_tables(mysql_engine)
    start = datetime(2026, 12, 1, 12, 0, 0)
    with mysql_engine.begin() as conn:  # three 4-row requests a minute apart, and one outside the window
        for minute in (0, 1, 2, 90):
            rows = [[{"Elevation": 1000 * minute + i}, "1", 1.0, {}] for i in range(4)]
            conn.execute(
                insert(PREDICTION_REQUESTS),
                {
                    "request_id": f"r{minute}",
                    "first_row_index": 0,
                    "n_rows": 4,
                    "predicted_at": start + timedelta(minutes=minute),
                    "dataset": "covertype",
                    "route": "/predict/covertype",
                    "model_name": "covertype-classifier",
                    "model_version": "1",
                    "latency_ms": 1.0,
                    "row_predictions": json.dumps(rows),
                },
            )
    # Two rows asked: the two newest requests of the window are read, two of their rows returned.
    frame = drift_check.prediction_rows(mysql_engine, COVERTYPE, start, start + timedelta(minutes=60), max_rows=2)
    assert len(frame) == 2 and set(frame["Elevation"]) <= {1000, 1001, 1002, 1003, 2000, 2001, 2002, 2003}
    everything = drift_check.prediction_rows(mysql_engine, COVERTYPE, start, start + timedelta(minutes=60))
    assert sorted(everything["Elevation"]) == [1000 * m + i for m in (0, 1, 2) for i in range(4)]
