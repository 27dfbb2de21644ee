"""The Monitoring tab through Streamlit's AppTest: fake inference (a real HTTP
server), fake Prometheus API (a real HTTP server), and the monitoring tables in
a real MySQL (TEST_MYSQL_URL) read by a select-only user."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest
from tests.fake_prometheus import FakePrometheus
from tests.monitoring_rows import insert_drift, insert_predictions, insert_quality, insert_source_state, insert_trigger
from tests.test_app import page_text

from tests import canned
from ui import monitoring_view

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
COVERTYPE_RATE = 'model_version:inference_prediction_requests:rate5m{model="covertype-classifier"}'
COVERTYPE_P99 = 'model_version:inference_prediction_duration_seconds:p99_5m{model="covertype-classifier"}'


@pytest.fixture
def prometheus():
    fake = FakePrometheus()
    yield fake
    fake.close()


@pytest.fixture
def open_monitoring(start_app, fake, monkeypatch):
    def start(prometheus_url: str, db_url: str, dataset: str = "covertype"):
        canned.serve_models(fake)
        monkeypatch.setenv("UI_PROMETHEUS_URL", prometheus_url)
        monkeypatch.setenv("UI_MONITOR_DB_URL", db_url)
        at = start_app(fake.url)
        if dataset != "penguins":
            at.selectbox(key="dataset").select(dataset).run()
        assert not at.exception
        assert [t.label for t in at.tabs] == ["Predict", "Batch", "Model", "Monitoring"]
        return at

    return start


def vega_specs(at) -> list[dict]:
    """Each chart's Vega-Lite spec, with `frames`: its datasets (Arrow, as Streamlit sends them) by name."""
    specs = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        spec["frames"] = {d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets}
        specs.append(spec)
    return specs


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_every_section_from_its_source(open_monitoring, prometheus, monitoring_db):
    writer, reader_url = monitoring_db
    t0 = (NOW - timedelta(minutes=40)).replace(second=0)
    insert_predictions(writer, "covertype", t0, ["1", "2", "2"], "a")
    insert_predictions(writer, "covertype", t0 + timedelta(minutes=20), ["2"] * 4, "b")
    insert_predictions(writer, "penguins", t0, ["Adelie"], "c")
    for i, (version, accuracy) in enumerate([("3", 0.9), ("3", 0.8), ("4", 0.95)]):
        insert_quality(writer, "covertype", t0 + timedelta(minutes=5 * i), version, accuracy, 0.91 if version == "3" else 0.94, batch=i + 1)
    insert_drift(writer, "covertype", "check-1", NOW, {"Elevation": (0.7, True), "Slope": (0.01, False)}, "0123abcd")
    insert_trigger(writer, "covertype", "accuracy_drop", NOW, {"accuracy": 0.8, "baseline": 0.91})
    stamp = (NOW - timedelta(minutes=10)).replace(tzinfo=UTC).timestamp()
    prometheus.on(COVERTYPE_RATE, {"model": "covertype-classifier", "version": "3"}, [(stamp, 2.5), (stamp + 60, 3.0)])
    prometheus.on(COVERTYPE_P99, {"model": "covertype-classifier", "version": "3"}, [(stamp, 0.012)])

    at = open_monitoring(prometheus.url, reader_url)

    assert COVERTYPE_RATE in prometheus.queries
    shown = metrics(at)
    assert shown[monitoring_view.PREDICTIONS_METRIC] == "7"  # covertype's rows only
    assert shown["Scored batches"] == "3"
    assert shown["Latest accuracy (v4)"] == "0.950"
    assert shown["Baseline (test accuracy)"] == "0.940"
    specs = vega_specs(at)
    # Requests, latency, class mix, accuracy, drift.
    assert len(specs) == 5
    text = page_text(at)
    assert "ingested: 50% of features drifted" in text
    assert "Check check-1 of covertype-classifier v3" in text
    link = next(b for b in at.get("link_button") if b.proto.label == "Open the drift report in MLflow")
    assert link.proto.url == "http://mlflow.test:5000/#/runs/0123abcd"
    [triggers] = [d for d in at.dataframe if "reason" in d.value.columns]
    assert triggers.value["reason"].tolist() == ["accuracy_drop"]
    # The latency chart in milliseconds.
    latency = next(s for s in specs if s.get("encoding", {}).get("y", {}).get("title") == "Latency (ms)")
    [frame] = latency["frames"].values()
    assert frame["value"].round(3).tolist() == [12.0]
    assert frame["series"].tolist() == ["p99 v3"]
    # The class mix: every covertype prediction, by class.
    mix = next(s for s in specs if s.get("encoding", {}).get("y", {}).get("title") == "Predictions")
    [frame] = mix["frames"].values()
    assert frame.groupby("prediction")["count"].sum().to_dict() == {"1": 1, "2": 6}
    # Live accuracy with one rule per scored version (3, then 4).
    accuracy = next(s for s in specs if "layer" in s)
    frames = accuracy["frames"].values()
    assert sorted(len(f) for f in frames) == [2, 2, 3]  # rules, their labels, batches
    assert any(f.get("label", pd.Series(dtype=str)).tolist() == ["v3", "v4"] for f in frames)


def test_no_monitoring_rows_yet(open_monitoring, prometheus, monitoring_db):
    _, reader_url = monitoring_db
    at = open_monitoring(prometheus.url, reader_url)
    assert metrics(at)[monitoring_view.PREDICTIONS_METRIC] == "0"
    text = "\n".join(i.value for i in at.info)
    assert "No covertype prediction was logged" in text
    assert "No covertype batch has been scored yet" in text
    assert "No drift check has run for covertype yet" in text
    assert "Prometheus has no request series for covertype-classifier" in text
    # Per model first, then the predict routes of every model.
    assert any(q.startswith("route:inference_requests:rate5m") for q in prometheus.queries)


def test_an_exhausted_group_is_said_in_plain_words(open_monitoring, prometheus, monitoring_db):
    writer, reader_url = monitoring_db
    found = NOW - timedelta(minutes=30)
    insert_source_state(writer, "covertype", 4, 10, checked_at=NOW - timedelta(minutes=5), exhausted_at=found)
    at = open_monitoring(prometheus.url, reader_url)
    [warning] = [w.value for w in at.warning]
    assert warning.startswith(f"Group 4 delivered its last batch (10) by {found:%Y-%m-%d %H:%M} UTC: no new labelled data.")
    assert "GET /restart_data_generation?group_number=4" in warning
    # The other sections are shown as usual.
    assert metrics(at)[monitoring_view.PREDICTIONS_METRIC] == "0"
    # Penguins has no data_api source: nothing is said.
    at.selectbox(key="dataset").select("penguins").run()
    assert not at.warning


def test_prometheus_and_mysql_down_are_said_and_the_other_tabs_work(open_monitoring):
    at = open_monitoring("http://127.0.0.1:9", "mysql+pymysql://monitor_reader:x@127.0.0.1:9/mlops_data?connect_timeout=2")
    warnings = "\n".join(w.value for w in at.warning)
    assert "Prometheus at http://127.0.0.1:9 cannot be reached" in warnings
    assert "The prediction log, live accuracy and drift cannot be shown: the monitoring tables in MySQL cannot be read" in warnings
    assert not at.error
    at.button(key="predict_button").click().run()
    assert "Answered by covertype-classifier version 3" in page_text(at)


def test_reads_are_cached_until_refresh(open_monitoring, prometheus, monitoring_db):
    writer, reader_url = monitoring_db
    at = open_monitoring(prometheus.url, reader_url)
    assert metrics(at)[monitoring_view.PREDICTIONS_METRIC] == "0"
    insert_predictions(writer, "covertype", NOW - timedelta(minutes=1), ["1", "2"], "late")
    at.run()  # any interaction reruns every tab: still the cached figures
    assert metrics(at)[monitoring_view.PREDICTIONS_METRIC] == "0"
    at.button(key=monitoring_view.REFRESH_KEY).click().run()
    assert metrics(at)[monitoring_view.PREDICTIONS_METRIC] == "2"
