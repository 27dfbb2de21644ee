"""quality-exporter's gauges from a real MySQL's model_quality (TEST_MYSQL_URL), and its outage signal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from tests.monitoring_rows import insert_quality

from ui.quality_exporter import registry_for


def scrape(engine) -> dict[tuple[str, frozenset], float]:
    text = generate_latest(registry_for(engine)).decode()
    return {(s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def test_latest_batch_per_dataset_with_its_baseline(monitoring_db):
    writer, reader_url = monitoring_db
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    insert_quality(writer, "covertype", now - timedelta(minutes=10), "3", 0.88, 0.9, batch=1)
    insert_quality(writer, "covertype", now - timedelta(minutes=5), "4", 0.61, 0.93, batch=2)
    insert_quality(writer, "penguins", now, "2", 0.97, None, batch=1)
    got = scrape(create_engine(reader_url))
    cover = frozenset({"dataset": "covertype", "model": "covertype-classifier", "version": "4"}.items())
    penguins = frozenset({"dataset": "penguins", "model": "penguins-classifier", "version": "2"}.items())
    assert got[("mlops_monitor_db_up", frozenset())] == 1
    assert round(got[("mlops_live_accuracy", cover)], 3) == 0.61
    assert round(got[("mlops_live_accuracy_baseline", cover)], 3) == 0.93
    assert got[("mlops_live_accuracy_measured_timestamp_seconds", cover)] == (now - timedelta(minutes=5)).replace(tzinfo=UTC).timestamp()
    assert round(got[("mlops_live_accuracy", penguins)], 3) == 0.97
    assert ("mlops_live_accuracy_baseline", penguins) not in got  # no baseline: no series, no alert
    # The older version's series is gone: the alert follows the version now scored.
    assert not any(
        labels == frozenset({"dataset": "covertype", "model": "covertype-classifier", "version": "3"}.items()) for _, labels in got
    )


def test_mysql_down_is_reported_not_stale_numbers():
    engine = create_engine("mysql+pymysql://monitor_reader:x@127.0.0.1:9/mlops_data", connect_args={"connect_timeout": 2})
    got = scrape(engine)
    assert got == {("mlops_monitor_db_up", frozenset()): 0}
