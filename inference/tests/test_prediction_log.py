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


def test_each_request_s_rows_are_cut_out_of_the_batch_by_their_offsets():
    """The document INSERT reads: the requests' rows back to back, and per request where its own start and end."""
    import base64
    import json

    import numpy as np

    from inference.prediction_log import _document, rows_json

    features = [{"island": "Biscoe", "note": 'ünïcode "quoted" ; \''}, {"island": "Dream", "bill_length_mm": None}]
    answers = [
        {"label": "Adelie", "confidence": np.float64(0.75), "probabilities": {"Adelie": 0.75, "Gentoo": 0.25}},
        {"label": 3, "confidence": 0.5, "probabilities": {"3": 0.5, "4": float("nan")}},
    ]
    batch = [
        ("r1", 1767323045.6785, "/predict/penguins", "penguins", "m", "1", 2, rows_json(features, answers), 0.002),
        ("r2", 1767323046.25, "/predict", "covertype", "c", "7", 1, rows_json(features[:1], answers[:1]), 0.001),
    ]
    all_rows, requests = _document(batch)
    joined, requests = base64.b64decode(all_rows), json.loads(base64.b64decode(requests))
    assert [r[:8] for r in requests] == [
        ["r1", "2026-01-02 03:04:05.678", "penguins", "/predict/penguins", "m", "1", 2.0, 2],
        ["r2", "2026-01-02 03:04:06.250", "covertype", "/predict", "c", "7", 1.0, 1],
    ]
    # SUBSTRING(all_rows, start, length): 1-based, in bytes.
    cut = [json.loads(joined[start - 1 : start - 1 + length]) for *_, start, length in requests]
    assert cut[0] == [
        [features[0], "Adelie", 0.75, {"Adelie": 0.75, "Gentoo": 0.25}],
        [features[1], 3, 0.5, {"3": 0.5, "4": None}],  # NaN has no JSON: null
    ]
    assert cut[1] == [cut[0][0]]
    assert requests[1][8] == 1 + len(joined) - requests[1][9]  # back to back, nothing after the last


def test_a_value_json_has_no_form_for_is_logged_as_its_text_not_raised_on_the_request_path():
    from decimal import Decimal

    from inference.prediction_log import rows_json

    logged = rows_json([{"x": Decimal("1.5")}], [{"label": "a", "confidence": float("inf"), "probabilities": {"a": 1.0}}])
    assert logged == b'[[{"x":"1.5"},"a",null,{"a":1.0}]]'
