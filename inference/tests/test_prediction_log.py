"""The prediction log without a database to write to: answers never wait for it, losses are counted."""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace

from inference.metrics import Metrics
from inference.prediction_log import PredictionLog
from inference.settings import Settings

MODEL = SimpleNamespace(name="penguins-classifier", version="1", dataset="penguins")
PREDICTION = {"label": "Adelie", "confidence": 0.9, "probabilities": {"Adelie": 0.9, "Chinstrap": 0.05, "Gentoo": 0.05}}


def dropped(metrics: Metrics, reason: str) -> float:
    return metrics.registry.get_sample_value("predictions_dropped_total", {"reason": reason}) or 0.0


def test_a_mysql_that_never_answers_costs_the_shutdown_one_batch_of_timeouts_and_everything_is_counted():
    # A socket that accepts connections and never says a word: each try waits out the timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    metrics = Metrics()
    settings = Settings(
        prediction_log_db_url=f"mysql+pymysql://nobody:nothing@127.0.0.1:{silent.getsockname()[1]}/mlops_data",
        prediction_log_flush_seconds=600,  # nothing flushes before the shutdown
        prediction_log_queue_rows=10_000,
        prediction_log_batch_rows=10,
        prediction_log_db_timeout_seconds=1,
    )
    log = PredictionLog(settings, metrics)
    log.start()
    started = time.perf_counter()
    for i in range(50):
        log.record(f"r{i}", "/predict/penguins", MODEL, [{"island": "Biscoe"}] * 3, [PREDICTION] * 3, 0.001)  # type: ignore[arg-type]
    assert time.perf_counter() - started < 0.5  # the request path only queues
    # The writer may already have taken a first batch (10 rows wait after 4 requests): the counts below say where every row went.
    stopping = time.perf_counter()
    log.stop()
    silent.close()
    # The first batch is tried (3 tries of 1 s), the other 14 dropped at once: not 45 s of timeouts.
    assert time.perf_counter() - stopping < 10
    assert dropped(metrics, "db_error") == 150 and dropped(metrics, "queue_full") == 0
    assert metrics.registry.get_sample_value("predictions_logged_total") == 0
    assert metrics.registry.get_sample_value("prediction_log_queue_rows") == 0


def test_a_request_that_does_not_fit_is_dropped_whole_and_counted():
    metrics = Metrics()
    log = PredictionLog(Settings(prediction_log_queue_rows=5), metrics)  # never started: nothing drains
    log.record("a", "/predict/penguins", MODEL, [{}] * 4, [PREDICTION] * 4, 0.001)  # type: ignore[arg-type]
    log.record("b", "/predict/penguins", MODEL, [{}] * 2, [PREDICTION] * 2, 0.001)  # type: ignore[arg-type]
    log.record("c", "/predict/penguins", MODEL, [{}], [PREDICTION], 0.001)  # type: ignore[arg-type]
    assert dropped(metrics, "queue_full") == 2
    assert log.queued_rows == 5
