"""Every prediction into MySQL, off the request path: a row of `prediction_requests` per request,
read a row per prediction through the `predictions` view.

A request only appends its rows to a bounded in-memory queue (`record`, no I/O, no
waiting); a writer thread flushes the queue every PREDICTION_LOG_FLUSH_SECONDS or as
soon as PREDICTION_LOG_BATCH_ROWS rows wait, with one INSERT IGNORE per batch (its rows
sent as one parameter, see INSERT). The table's UNIQUE (request_id, first_row_index) makes a retried flush write
nothing twice. Whatever cannot be recorded is counted in predictions_dropped_total{reason}:
`queue_full` when the queue has no room for a request's rows (MySQL slow or down for
longer than the queue lasts), `db_error` when a batch still fails after
PREDICTION_LOG_ATTEMPTS tries. An outage is logged when it starts and when it ends,
never per row. The schema is airflow's (mlops_pipelines.tables, contract/monitoring-tables.json).

The writer (`TableWriter`, on inference.batch_queue) takes other kinds of entry too: the
shadow log (inference.shadow) writes the challenger's shadow predictions the same way.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import Counter
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from inference.batch_queue import BatchQueue
from inference.metrics import Metrics
from inference.registry import LoadedModel
from inference.settings import Settings

log = logging.getLogger(__name__)

# The columns inference writes (the id is the table's), in the order of the VALUES built
# below. Held to contract/monitoring-tables.json by the tests.
COLUMNS = (
    "request_id",
    "predicted_at",
    "dataset",
    "route",
    "model_name",
    "model_version",
    "latency_ms",
    "n_rows",
    "row_predictions",
    "first_row_index",
)
# A table row per request (readers see a row per prediction through the `predictions` view).
# One statement per batch with two parameters, so the driver formats two values per batch
# instead of ten per request (pymysql escapes a value with a Python-level translate): the
# requests' rows, each request's a JSON array, one after the other; and the requests'
# other values as a JSON document, a request per element, with where its rows start and how
# long they are, which the server turns into table rows with JSON_TABLE (MySQL 8 and MariaDB
# 10.6+). Both go base64-encoded, so neither has anything to escape; the rows are cut out as
# bytes (SUBSTRING on a binary string: by offset, not by scanning characters) and stored as
# they are, never parsed on the way in (parsing them took a third of MySQL's time per row).
# IGNORE: an entry already written by an earlier try of the same flush is skipped, not doubled.
INSERT = f"""INSERT IGNORE INTO prediction_requests ({", ".join(COLUMNS)})
SELECT r.request_id, r.predicted_at, r.dataset, r.route, r.model_name, r.model_version, r.latency_ms, r.n_rows,
       CONVERT(SUBSTRING(b.all_rows, r.rows_start, r.rows_length) USING utf8mb4), 0
FROM (SELECT FROM_BASE64(%s) AS all_rows) AS b, JSON_TABLE(CONVERT(FROM_BASE64(%s) USING utf8mb4), '$[*]' COLUMNS (
    request_id VARCHAR(64) PATH '$[0]', predicted_at DATETIME(3) PATH '$[1]', dataset VARCHAR(32) PATH '$[2]',
    route VARCHAR(64) PATH '$[3]', model_name VARCHAR(255) PATH '$[4]', model_version VARCHAR(32) PATH '$[5]',
    latency_ms DOUBLE PATH '$[6]', n_rows INTEGER PATH '$[7]', rows_start INTEGER PATH '$[8]',
    rows_length INTEGER PATH '$[9]')) AS r"""

# One request's predictions as queued: request_id, time, route, dataset, model name, version,
# number of rows, the rows with their predictions as JSON (`rows_json`), model seconds. A tuple:
# built on the request path.
Entry = tuple[str, float, str, str, str, str, int, bytes, float]
# A writer's dropped{reason} and logged counters, and the dropped one's name as PromQL sees it.
WriterCounters = tuple[Counter, Counter, str]


class TableWriter(BatchQueue):
    """A bounded queue of entries and the thread that writes them to one table, a batch per INSERT IGNORE.

    A kind of entry (the prediction log's, the shadow log's) names itself in `what`, its
    statement in `statement` (its parameters: the batch's `document`) and how a batch becomes
    that document; its rows are counted in its own dropped{reason} and logged counters.
    """

    full_hint = "MySQL slow or down?"
    statement = ""

    def __init__(self, settings: Settings, counters: WriterCounters, engine: Engine | None = None):
        dropped, self.logged, dropped_name = counters
        super().__init__(
            settings.prediction_log_queue_rows,
            settings.prediction_log_batch_rows,
            settings.prediction_log_flush_seconds,
            dropped,
            dropped_name,
        )
        self.attempts = settings.prediction_log_attempts
        self._settings = settings
        self._engine = engine
        # Outage bookkeeping (the writer thread's).
        self._db_down_since: float | None = None
        self._dropped_db = 0  # under _lock
        self._dropped_at_outage = 0

    def document(self, batch: list[Any]) -> tuple[str, ...]:
        """The batch as the statement's parameters (the writer thread's work)."""
        raise NotImplementedError

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
        super().start()

    def stop(self, timeout: float = 30.0) -> None:
        """Flush what is queued (bounded tries) and stop; blocking."""
        super().stop(timeout)
        if self._engine is not None:
            self._engine.dispose()

    def work(self) -> None:
        self.flush()

    def flush(self) -> None:
        """Write everything queued now, a batch of up to batch_rows rows at a time (the writer thread's)."""
        while True:
            batch, rows = self._take()
            if not batch:
                return
            if not self._write(batch, rows) and self._stopping:
                # Shutting down with MySQL away: the rest would fail the same way, one
                # timeout per batch; count it and let the process go.
                rest = sum(n for n, _ in self._take_all())
                self._count_db_error(rest)
                log.warning("%s: stopping with MySQL unreachable; %d more rows dropped", self.what, rest)
                return

    def _count_db_error(self, rows: int) -> None:
        with self._lock:
            self._dropped_db += rows
        self.dropped.labels("db_error").inc(rows)

    def _write(self, batch: list[Any], rows: int) -> bool:
        """Write a batch of `rows` rows (bounded tries); False when its rows were dropped."""
        document = self.document(batch)
        for attempt in range(1, self.attempts + 1):
            try:
                self._execute(document, rows)
            except Exception as exc:
                self._failed(exc)
                if attempt < self.attempts and not self._stopping:
                    time.sleep(min(0.1 * 2 ** (attempt - 1), 1.0))
                continue
            self.logged.inc(rows)
            self._succeeded()
            return True
        self._count_db_error(rows)
        return False

    def _execute(self, document: tuple[str, ...], rows: int) -> None:
        """One INSERT IGNORE of the batch's `rows` rows (`document`, see `statement`), in one transaction."""
        assert self._engine is not None
        with self._engine.begin() as conn:
            # The driver's cursor: SQLAlchemy's text() would parse the JSON path's colons as bind names.
            with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
                cursor.execute(self.statement, document)

    def _failed(self, exc: Exception) -> None:
        if self._db_down_since is None:
            self._db_down_since = time.monotonic()
            self._dropped_at_outage = self._dropped_total()
            log.warning(
                "%s: cannot write to MySQL (%s): predictions are answered, those not written after %d tries "
                "are dropped and counted in %s; logged again when MySQL is back",
                self.what,
                _brief(exc),
                self.attempts,
                self._dropped_name,
            )

    def _succeeded(self) -> None:
        if self._db_down_since is not None:
            lasted = time.monotonic() - self._db_down_since
            dropped = self._dropped_total() - self._dropped_at_outage
            self._db_down_since = None
            log.warning("%s: MySQL takes rows again after %.0f s; %d rows were dropped meanwhile", self.what, lasted, dropped)

    def _dropped_total(self) -> int:
        with self._lock:
            return self._dropped_full + self._dropped_db


class PredictionLog(TableWriter):
    """Production's predictions into `prediction_requests`, queued by the request path."""

    what = "prediction log"
    statement = INSERT

    def __init__(self, settings: Settings, metrics: Metrics, engine: Engine | None = None):
        super().__init__(settings, (metrics.predictions_dropped, metrics.predictions_logged, "predictions_dropped_total"), engine)
        self.sample = settings.prediction_log_sample
        metrics.prediction_log_queue_rows.set_function(lambda: self._rows)

    # --- the request path -----------------------------------------------------
    def record(
        self, request_id: str, route: str, model: LoadedModel, rows: list[Any], predictions: list[dict[str, Any]], seconds: float
    ) -> None:
        """Queue one request's predictions; never blocks, never raises for the log's sake."""
        if self.sample < 1.0 and random.random() >= self.sample:
            return  # sampled out: whole requests, so a batch is all or nothing
        at, n = time.time(), len(rows)
        entry: Entry = (request_id, at, route, model.dataset[:32], model.name, model.version, n, rows_json(rows, predictions), seconds)
        self.put(entry, n)

    def document(self, batch: list[Entry]) -> tuple[str, str]:
        return _document(batch)


def rows_json(rows: list[Any], predictions: list[dict[str, Any]]) -> bytes:
    """A request's rows as the table keeps them: [[features, prediction, confidence, probabilities], ...].

    Encoded here, on the request path (orjson, in C: about 1 us a row), so the queue holds one
    bytes object per request, not its rows' dicts: those, kept alive until the writer took them,
    were promoted through the garbage collector's generations and walked by its collections,
    which cost the worker more than encoding them. A value JSON has no form for becomes its
    text (`default=str`) rather than an error on the request path; NaN and infinity become null.
    """
    return orjson.dumps(
        [(row, p["label"], p["confidence"], p["probabilities"]) for row, p in zip(rows, predictions, strict=True)],
        default=str,
        option=orjson.OPT_SERIALIZE_NUMPY,
    )


def _document(batch: list[Entry]) -> tuple[str, str]:
    """The batch as INSERT's two parameters, base64-encoded: the requests' rows, one after the other,
    and a JSON array with a request per element (the writer thread's work)."""
    stamp = timestamps()
    requests = []
    start = 1  # SUBSTRING counts from 1
    for request_id, at, route, dataset, model_name, version, n, part, seconds in batch:
        requests.append((request_id, stamp(at), dataset, route, model_name, version, float(seconds) * 1000.0, n, start, len(part)))
        start += len(part)
    return base64.b64encode(b"".join(entry[7] for entry in batch)).decode("ascii"), encoded(requests)


def timestamps() -> Callable[[float], str]:
    """A Unix time as DATETIME(3) text, UTC; the date and time formatted once per second of a batch, the milliseconds each time."""
    second, formatted = -1, ""

    def stamp(at: float) -> str:
        nonlocal second, formatted
        if int(at) != second:
            second = int(at)
            formatted = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"{formatted}.{int((at - second) * 1000):03d}"

    return stamp


def encoded(document: Any) -> str:
    """A batch document as the statement's parameter: base64 of its JSON (NaN and infinity as null)."""
    return base64.b64encode(orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)).decode("ascii")


def json_text(value: Any) -> str:
    # NaN or infinity (a pipeline fed out-of-range values) become null, as JSON has no such numbers.
    return orjson.dumps(value).decode()


def _brief(exc: Exception) -> str:
    # SQLAlchemy's messages carry the whole statement and its parameters: the first line is enough.
    return str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
