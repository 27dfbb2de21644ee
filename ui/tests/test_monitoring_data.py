"""monitoring_data against a real MySQL (TEST_MYSQL_URL) holding crafted rows,
read as a user that may only SELECT from the monitoring tables; and against a real
HTTP server answering as Prometheus's API does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from tests.monitoring_rows import insert_drift, insert_predictions, insert_quality, insert_source_state, insert_trigger

from ui import monitoring_data as data

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@pytest.fixture
def db(monitoring_db):
    writer, reader_url = monitoring_db
    return writer, create_engine(reader_url)


def test_the_reader_may_not_write(db):
    """The tab reads with MONITOR_DB_USER's rights only: these queries need nothing more."""
    _, reader = db
    with pytest.raises(Exception, match="denied"):
        with reader.begin() as conn:
            conn.execute(text("DELETE FROM predictions"))


def test_class_mix_counts_per_minute_and_class_within_the_window(db):
    writer, reader = db
    at = (NOW - timedelta(minutes=30)).replace(second=0)
    insert_predictions(writer, "covertype", at, ["1", "2", "2"], "r1")
    insert_predictions(writer, "covertype", at + timedelta(seconds=20), ["2"], "r2")
    insert_predictions(writer, "covertype", at + timedelta(minutes=7), ["5", "5"], "r3")
    insert_predictions(writer, "penguins", at, ["Adelie"], "r4")  # another dataset
    insert_predictions(writer, "covertype", NOW - timedelta(hours=7), ["1"], "r5")  # before the window
    mix = data.class_mix(reader, "covertype", datetime.now(UTC) - timedelta(hours=6))
    assert int(mix["count"].sum()) == 6
    by_key = {(row.minute, row.prediction): row.count for row in mix.itertuples()}
    assert by_key == {(pd.Timestamp(at), "1"): 1, (pd.Timestamp(at), "2"): 3, (pd.Timestamp(at + timedelta(minutes=7)), "5"): 2}
    buckets = data.bucketed(mix, 60)
    assert buckets["count"].sum() == 6
    assert set(buckets.groupby("time")["share"].sum().round(6)) == {1.0}


def test_class_mix_of_an_empty_log(db):
    _, reader = db
    mix = data.class_mix(reader, "covertype", datetime.now(UTC) - timedelta(hours=6))
    assert mix.empty and data.bucketed(mix, 10).empty


def test_quality_oldest_first_and_version_changes(db):
    writer, reader = db
    start = NOW - timedelta(hours=2)
    for i, (version, accuracy) in enumerate([("3", 0.91), ("3", 0.85), ("4", 0.93), ("4", 0.7)]):
        insert_quality(
            writer, "covertype", start + timedelta(minutes=5 * i), version, accuracy, 0.9 if version == "3" else 0.94, batch=i + 1
        )
    insert_quality(writer, "penguins", start, "1", 0.99, None, batch=1)
    quality = data.quality(reader, "covertype")
    assert quality["accuracy"].round(3).tolist() == [0.91, 0.85, 0.93, 0.7]
    assert quality["model_version"].tolist() == ["3", "3", "4", "4"]
    assert quality["segment"].tolist() == [1, 1, 2, 2]
    changes = data.version_changes(quality)
    assert changes["model_version"].tolist() == ["3", "4"]
    assert changes["measured_at"].tolist() == [pd.Timestamp(start), pd.Timestamp(start + timedelta(minutes=10))]
    assert data.quality(reader, "covertype", limit=2)["accuracy"].round(3).tolist() == [0.93, 0.7]


def test_latest_quality_per_dataset(db):
    writer, reader = db
    insert_quality(writer, "covertype", NOW - timedelta(minutes=10), "3", 0.8, 0.9, batch=1)
    insert_quality(writer, "covertype", NOW - timedelta(minutes=5), "4", 0.6, 0.92, batch=2)
    insert_quality(writer, "penguins", NOW - timedelta(minutes=5), "2", 0.97, None, batch=1)
    latest = data.latest_quality(reader)
    assert latest["dataset"].tolist() == ["covertype", "penguins"]
    assert latest["model_version"].tolist() == ["4", "2"]
    assert latest["accuracy"].round(3).tolist() == [0.6, 0.97]
    assert latest["baseline_accuracy"].iloc[1] is None or pd.isna(latest["baseline_accuracy"].iloc[1])


def test_latest_drift_is_one_whole_check(db):
    writer, reader = db
    assert data.latest_drift(reader, "covertype") is None
    insert_drift(writer, "covertype", "old", NOW - timedelta(hours=2), {"Elevation": (0.01, False)}, "run-old")
    features = {"Elevation": (0.8, True), "Slope": (0.02, False), "Aspect": (0.3, True)}
    insert_drift(writer, "covertype", "new", NOW - timedelta(minutes=1), features, "run-new")
    insert_drift(
        writer,
        "covertype",
        "new",
        NOW - timedelta(minutes=1),
        {"Elevation": (0.5, True), "Slope": (0.0, False)},
        None,
        source="predictions",
    )
    report = data.latest_drift(reader, "covertype")
    assert report is not None
    assert (report.check_id, report.report_run_id, report.model_version) == ("new", "run-new", "3")
    assert len(report.features) == 5
    assert report.drifted_share("ingested") == pytest.approx(2 / 3)
    assert report.drifted_share("predictions") == 0.5
    elevation = report.features[(report.features["source"] == "ingested") & (report.features["feature"] == "Elevation")].iloc[0]
    assert bool(elevation["drifted"]) is True and elevation["statistic"] == pytest.approx(0.8)


def test_retrain_triggers_newest_first(db):
    writer, reader = db
    insert_trigger(writer, "covertype", "new_rows", NOW - timedelta(hours=3), {"new_rows": 5000})
    insert_trigger(writer, "covertype", "accuracy_drop", NOW - timedelta(hours=1), {"accuracy": 0.6, "baseline": 0.9}, "held")
    triggers = data.retrain_triggers(reader, "covertype")
    assert triggers["reason"].tolist() == ["accuracy_drop", "new_rows"]
    assert triggers["status"].tolist() == ["held", "fired"]
    assert json.loads(triggers["detail"].iloc[0]) == {"accuracy": 0.6, "baseline": 0.9}
    assert data.retrain_triggers(reader, "penguins").empty


def test_mysql_down_is_a_named_outage():
    engine = create_engine("mysql+pymysql://monitor_reader:x@127.0.0.1:9/mlops_data", connect_args={"connect_timeout": 2})
    with pytest.raises(data.SourceUnavailable, match="monitoring tables in MySQL cannot be read"):
        data.class_mix(engine, "covertype", datetime.now(UTC))


@pytest.fixture
def prometheus():
    from tests.fake_prometheus import FakePrometheus

    fake = FakePrometheus()
    yield fake
    fake.close()


def test_prometheus_range_as_a_frame(prometheus):
    start, end, step = data.window(2, now=datetime(2026, 1, 1, 12, tzinfo=UTC))
    assert (end - start, step) == (timedelta(hours=2), 30)
    prometheus.on("q", {"model": "m", "version": "3"}, [(1767268800, 0.5), (1767268830, float("nan"))])
    prometheus.on("q", {"model": "m", "version": "4"}, [(1767268800, 1.5)])
    frame = data.prometheus_range(prometheus.url, "q", start, end, step)
    assert frame.sort_values("version")[["version", "value"]].values.tolist() == [["3", 0.5], ["4", 1.5]]  # NaN dropped
    assert frame["time"].iloc[0] == datetime(2026, 1, 1, 12, 0)
    assert data.prometheus_range(prometheus.url, "nothing", start, end, step).empty


def test_prometheus_errors_are_named(prometheus):
    start, end, step = data.window(1)
    prometheus.status = 400
    with pytest.raises(data.SourceUnavailable, match="answered 400: canned failure"):
        data.prometheus_range(prometheus.url, "q", start, end, step)
    with pytest.raises(data.SourceUnavailable, match="Prometheus at http://127.0.0.1:9 cannot be reached"):
        data.prometheus_range("http://127.0.0.1:9", "q", start, end, step)


def test_the_source_state_of_the_group_checked_last(db):
    writer, reader = db
    assert data.source_state(reader, "covertype") is None  # no ingest yet
    found = datetime(2026, 5, 1, 12, 40)
    insert_source_state(writer, "covertype", 2, 3, checked_at=found - timedelta(hours=1))
    insert_source_state(writer, "covertype", 4, 10, checked_at=found + timedelta(minutes=15), exhausted_at=found)
    insert_source_state(writer, "penguins", 1, 1, checked_at=found + timedelta(hours=1))  # another dataset
    state = data.source_state(reader, "covertype")
    assert state == data.SourceState(group_number=4, batch_number=10, exhausted_at=found, checked_at=found + timedelta(minutes=15))
    assert state.message() == (
        "Group 4 delivered its last batch (10) by 2026-05-01 12:40 UTC: no new labelled data. "
        "Restart it with data_api's `GET /restart_data_generation?group_number=4`; the next ingest run then starts again at batch 1."
    )
    # Restarted: the group serves again, and the state says so.
    with writer.begin() as conn:
        conn.execute(
            text("UPDATE source_state SET batch_number = 1, exhausted_at = NULL, checked_at = :at WHERE group_number = 4"), {"at": NOW}
        )
    again = data.source_state(reader, "covertype")
    assert again is not None and again.exhausted_at is None
    assert again.message() == f"Ingesting data_api group 4: batch 1 received at {NOW:%Y-%m-%d %H:%M} UTC."
