"""Every prediction into MySQL's `predictions` table, off the request path.

A request only appends its rows to a bounded in-memory queue (`record`, no I/O, no
waiting); a writer thread flushes the queue every PREDICTION_LOG_FLUSH_SECONDS or as
soon as PREDICTION_LOG_BATCH_ROWS rows wait, with one INSERT IGNORE per batch (its rows
sent as one parameter, see INSERT). The table's UNIQUE (request_id, row_index) makes a retried flush write nothing
twice. Whatever cannot be recorded is counted in predictions_dropped_total{reason}:
`queue_full` when the queue has no room for a request's rows (MySQL slow or down for
longer than the queue lasts), `db_error` when a batch still fails after
PREDICTION_LOG_ATTEMPTS tries. An outage is logged when it starts and when it ends,
never per row. The schema is airflow's (mlops_pipelines.tables, contract/monitoring-tables.json).
"""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from inference.metrics import Metrics
from inference.registry import LoadedModel
from inference.settings import Settings

log = logging.getLogger(__name__)

# The columns inference writes (the id is the table's), in the order of the VALUES built
# below: a request's shared values first. Held to contract/monitoring-tables.json by the tests.
COLUMNS = (
    "request_id",
    "predicted_at",
    "dataset",
    "route",
    "model_name",
    "model_version",
    "latency_ms",
    "row_index",
    "features",
    "prediction",
    "confidence",
    "probabilities",
)
# One statement per batch with one parameter: the batch as a JSON document (one row per
# request, its rows nested), which the server expands into table rows with JSON_TABLE
# (MySQL 8 and MariaDB 10.6+). The driver formats one value per batch instead of twelve
# per row (pymysql escapes a value with a Python-level translate, 60 us a row here), and the
# document goes base64-encoded, so that value has nothing to escape. features and
# probabilities are JSON text, encoded here and stored as they are.
# IGNORE: a row already written by an earlier try of the same flush is skipped, not doubled.
INSERT = f"""INSERT IGNORE INTO predictions ({", ".join(COLUMNS)})
SELECT r.request_id, r.predicted_at, r.dataset, r.route, r.model_name, r.model_version, r.latency_ms,
       r.row_seq - 1, r.features, r.prediction, r.confidence, r.probabilities
FROM JSON_TABLE(CONVERT(FROM_BASE64(%s) USING utf8mb4), '$[*]' COLUMNS (
    request_id VARCHAR(64) PATH '$[0]', predicted_at DATETIME(3) PATH '$[1]', dataset VARCHAR(32) PATH '$[2]',
    route VARCHAR(64) PATH '$[3]', model_name VARCHAR(255) PATH '$[4]', model_version VARCHAR(32) PATH '$[5]',
    latency_ms DOUBLE PATH '$[6]',
    NESTED PATH '$[7][*]' COLUMNS (
        row_seq FOR ORDINALITY, features LONGTEXT PATH '$[0]', prediction VARCHAR(64) PATH '$[1]',
        confidence DOUBLE PATH '$[2]', probabilities LONGTEXT PATH '$[3]'))) AS r"""

# One request's predictions as queued: request_id, time, route, dataset, model name,
# version, rows, predictions, model seconds. A tuple: built on the request path.
Entry = tuple[str, float, str, str, str, str, list[Any], list[dict[str, Any]], float]


class PredictionLog:
    def __init__(self, settings: Settings, metrics: Metrics, engine: Engine | None = None):
        self.sample = settings.prediction_log_sample
        self.max_rows = settings.prediction_log_queue_rows
        self.batch_rows = settings.prediction_log_batch_rows
        self.flush_seconds = settings.prediction_log_flush_seconds
        self.attempts = settings.prediction_log_attempts
        self.metrics = metrics
        self._settings = settings
        self._engine = engine
        self._queue: deque[Entry] = deque()
        self._rows = 0  # rows in the queue, under _lock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        # Outage bookkeeping: the writer thread's (db) and the request path's (queue), under _lock.
        self._db_down_since: float | None = None
        self._dropped = {"queue_full": 0, "db_error": 0}
        self._dropped_at_outage = 0
        self._queue_full = False
        metrics.prediction_log_queue_rows.set_function(lambda: self._rows)

    # --- the request path -----------------------------------------------------
    def record(
        self, request_id: str, route: str, model: LoadedModel, rows: list[Any], predictions: list[dict[str, Any]], seconds: float
    ) -> None:
        """Queue one request's predictions; never blocks, never raises for the log's sake."""
        if self.sample < 1.0 and random.random() >= self.sample:
            return  # sampled out: whole requests, so a batch is all or nothing
        n = len(rows)
        entry: Entry = (request_id, time.time(), route, model.dataset[:32], model.name, model.version, rows, predictions, seconds)
        with self._lock:
            if self._rows + n > self.max_rows:
                self._drop_full(n)
                return
            self._queue.append(entry)
            self._rows += n
            if self._queue_full:
                self._queue_full = False
                log.warning("prediction log: the queue takes rows again (%d dropped so far as queue_full)", self._dropped["queue_full"])
            wake = self._rows >= self.batch_rows
        if wake and not self._wake.is_set():
            self._wake.set()

    def _drop_full(self, n: int) -> None:
        # Under _lock.
        self._dropped["queue_full"] += n
        self.metrics.predictions_dropped.labels("queue_full").inc(n)
        if not self._queue_full:
            self._queue_full = True
            log.warning(
                "prediction log: the queue is full (%d rows; MySQL slow or down?): predictions are answered, "
                'those that do not fit are dropped and counted in predictions_dropped_total{reason="queue_full"}',
                self.max_rows,
            )

    # --- the writer -----------------------------------------------------------
    def start(self) -> None:
        if self._engine is None:
            timeout = self._settings.prediction_log_db_timeout_seconds
            # No connection yet: the pool connects at the first flush (pre-ping: a
            # connection MySQL closed while it was away is replaced, not used).
            self._engine = create_engine(
                self._settings.predictions_db_url.update_query_dict({"charset": "utf8mb4"}),
                pool_size=1,
                max_overflow=0,
                pool_pre_ping=True,
                pool_recycle=3600,
                connect_args={"connect_timeout": timeout, "read_timeout": timeout, "write_timeout": timeout},
            )
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Flush what is queued (bounded tries) and stop; blocking."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._engine is not None:
            self._engine.dispose()

    @property
    def queued_rows(self) -> int:
        return self._rows

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            stopping = self._stopping
            try:
                self.flush()
            except Exception:  # never let the writer die: the next flush tries again
                log.exception("prediction log: unexpected error in a flush")
            if stopping:
                return

    def flush(self) -> None:
        """Write everything queued now, a batch of up to batch_rows rows at a time (the writer thread's)."""
        while True:
            batch = self._take()
            if not batch:
                return
            if not self._write(batch) and self._stopping:
                # Shutting down with MySQL away: the rest would fail the same way, one
                # timeout per batch; count it and let the process go.
                rest = sum(len(entry[6]) for entry in self._take_all())
                self._count_db_error(rest)
                log.warning("prediction log: stopping with MySQL unreachable; %d more predicted rows dropped", rest)
                return

    def _take(self) -> list[Entry]:
        batch: list[Entry] = []
        taken = 0
        with self._lock:
            while self._queue and taken < self.batch_rows:
                entry = self._queue.popleft()
                batch.append(entry)
                taken += len(entry[6])
            self._rows -= taken
        return batch

    def _take_all(self) -> list[Entry]:
        with self._lock:
            taken = list(self._queue)
            self._queue.clear()
            self._rows = 0
        return taken

    def _count_db_error(self, rows: int) -> None:
        with self._lock:
            self._dropped["db_error"] += rows
        self.metrics.predictions_dropped.labels("db_error").inc(rows)

    def _write(self, batch: list[Entry]) -> bool:
        """Write a batch (bounded tries); False when its rows were dropped."""
        document = _document(batch)
        rows = sum(len(entry[6]) for entry in batch)
        for attempt in range(1, self.attempts + 1):
            try:
                self._execute(document, rows)
            except Exception as exc:
                self._failed(exc)
                if attempt < self.attempts and not self._stopping:
                    time.sleep(min(0.1 * 2 ** (attempt - 1), 1.0))
                continue
            self.metrics.predictions_logged.inc(rows)
            self._succeeded()
            return True
        self._count_db_error(rows)
        return False

    def _execute(self, document: str, rows: int) -> None:
        """One INSERT IGNORE of the batch's `rows` rows (`document`, see INSERT), in one transaction."""
        assert self._engine is not None
        with self._engine.begin() as conn:
            # The driver's cursor: SQLAlchemy's text() would parse the JSON path's colons as bind names.
            with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
                cursor.execute(INSERT, (document,))

    def _failed(self, exc: Exception) -> None:
        if self._db_down_since is None:
            self._db_down_since = time.monotonic()
            self._dropped_at_outage = self._dropped_total()
            log.warning(
                "prediction log: cannot write to MySQL (%s): predictions are answered, those not written after %d tries "
                "are dropped and counted in predictions_dropped_total; logged again when MySQL is back",
                _brief(exc),
                self.attempts,
            )

    def _succeeded(self) -> None:
        if self._db_down_since is not None:
            lasted = time.monotonic() - self._db_down_since
            dropped = self._dropped_total() - self._dropped_at_outage
            self._db_down_since = None
            log.warning(
                "prediction log: MySQL takes predictions again after %.0f s; %d predicted rows were dropped meanwhile", lasted, dropped
            )

    def _dropped_total(self) -> int:
        with self._lock:
            return sum(self._dropped.values())


def _document(batch: list[Entry]) -> str:
    """The batch as INSERT's parameter: base64 of one JSON array, a request per element (the writer thread's work).

    orjson encodes each row's features and probabilities (the columns' text) and then the
    whole array, in C: about 3 us a row, where formatting twelve SQL values a row cost 30-60.
    """
    requests = []
    second, formatted = -1, ""
    for request_id, at, route, dataset, model_name, version, rows, predictions, seconds in batch:
        # The date and time formatted once per second of the batch, the milliseconds per request.
        if int(at) != second:
            second = int(at)
            formatted = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")
        requests.append(
            (
                request_id,
                f"{formatted}.{int((at - second) * 1000):03d}",
                dataset,
                route,
                model_name,
                version,
                float(seconds) * 1000.0,
                [
                    (_json(row), str(p["label"]), float(p["confidence"]), _json(p["probabilities"]))
                    for row, p in zip(rows, predictions, strict=True)
                ],
            )
        )
    return base64.b64encode(orjson.dumps(requests)).decode("ascii")


def _json(value: Any) -> str:
    # NaN or infinity (a pipeline fed out-of-range values) become null, as JSON has no such numbers.
    return orjson.dumps(value).decode()


def _brief(exc: Exception) -> str:
    # SQLAlchemy's messages carry the whole statement and its parameters: the first line is enough.
    return str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
