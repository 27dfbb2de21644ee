"""Live accuracy as Prometheus gauges, for the LiveAccuracyBelowBaseline alert:
`python -m ui.quality_exporter` (compose service quality-exporter, port 9108).

Nothing is pushed or cached: each scrape reads the latest scored batch per
dataset from model_quality (monitoring_data.latest_quality, the select-only
user). A database that cannot be read is `mlops_monitor_db_up 0` and no
accuracy series, so the alert neither fires nor clears on stale numbers, and
the outage is visible (and logged once).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from ui import monitoring_data as data
from ui.settings import Settings

log = logging.getLogger("ui.quality_exporter")
LABELS = ["dataset", "model", "version"]


class QualityCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._down = False

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("mlops_monitor_db_up", "1 if the model_quality table could be read at this scrape")
        accuracy = GaugeMetricFamily("mlops_live_accuracy", "Accuracy of the latest scored batch", labels=LABELS)
        baseline = GaugeMetricFamily("mlops_live_accuracy_baseline", "Test accuracy of the version that scored it", labels=LABELS)
        f1 = GaugeMetricFamily("mlops_live_f1_macro", "Macro F1 of the latest scored batch", labels=LABELS)
        measured = GaugeMetricFamily("mlops_live_accuracy_measured_timestamp_seconds", "When the latest batch was scored", labels=LABELS)
        try:
            latest = data.latest_quality(self.engine)
        except data.SourceUnavailable as exc:
            if not self._down:
                log.warning("%s (reported as mlops_monitor_db_up 0 until it can be read again)", exc)
            self._down = True
            up.add_metric([], 0)
            yield up
            return
        if self._down:
            log.info("model_quality can be read again")
        self._down = False
        up.add_metric([], 1)
        for row in latest.itertuples(index=False):
            labels = [str(row.dataset), str(row.model_name), str(row.model_version)]
            accuracy.add_metric(labels, float(row.accuracy))
            f1.add_metric(labels, float(row.f1_macro))
            if row.baseline_accuracy is not None and row.baseline_accuracy == row.baseline_accuracy:
                baseline.add_metric(labels, float(row.baseline_accuracy))
            # DATETIME in UTC without a zone.
            measured.add_metric(labels, data.as_utc(row.measured_at).timestamp())
        yield from (up, accuracy, baseline, f1, measured)


def registry_for(engine: Engine) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QualityCollector(engine))
    return registry


def main(port: int = 9108) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    settings = Settings()
    engine = data.engine_for(settings.monitor_db_sqlalchemy_url())
    server, thread = start_http_server(port, registry=registry_for(engine))
    log.info("serving live accuracy from model_quality on :%d/metrics", port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
