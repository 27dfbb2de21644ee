"""Shadow scoring: the challenger scored on production's live traffic, off the request path.

After production answers a request for its production model (not one that chose a version
or alias), `Shadow.offer` appends the rows, production's predictions and the true class when
the caller sent it (the Covertype client's `{"features": [...]}` body) to a bounded queue:
O(1), no waiting; what does not fit is counted in
inference_shadow_dropped_rows_total{reason="queue_full"}, and what comes faster than
INFERENCE_SHADOW_MAX_ROWS_PER_SECOND in reason="rate_limit" (the challenger's share of the
process's CPU is bounded whatever the traffic: scoring every row of a busy one-row route
cost production about a tenth of its throughput). A worker thread takes many requests'
rows at a time and scores them with the challenger in one predict_proba call per model (a call
per row would cost as much CPU as the request did). Rows the challenger's feature spec refuses
are counted as reason="rejected". Per model and version pair it counts agreement with
production (inference_shadow_rows_total{agreement}) and, where the true class is known, each
version's right and wrong answers (inference_shadow_actual_rows_total{role, outcome}); the same
totals since start answer GET /models/{name}/shadow. Every scored row goes to the
`shadow_predictions` table through the prediction log's writer (`ShadowLog`), never into
`predictions`, whose rows are production's alone.

The challenger is the version the challenger alias names, loaded beside production by the
model store (`ModelStore.challenger`); with none, or with the alias on production's version,
nothing is queued.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from inference.batch_queue import BatchQueue
from inference.metrics import Metrics
from inference.model_store import ModelStore
from inference.prediction_log import TableWriter, encoded, json_text, timestamps
from inference.registry import LoadedModel
from inference.settings import Settings

log = logging.getLogger(__name__)

# How often the worker looks for rows when fewer than a batch wait.
WAIT_SECONDS = 0.2

# One production answer as queued: request_id, time, route, production model, rows,
# production's predictions, the true class (None: not sent). A tuple: built on the request path.
Job = tuple[str, float, str, LoadedModel, list[Any], list[dict[str, Any]], Any]

# The columns the shadow log writes (the id is the table's), in the table's order. Held to
# contract/monitoring-tables.json by the tests.
COLUMNS = (
    "request_id",
    "row_index",
    "predicted_at",
    "dataset",
    "route",
    "model_name",
    "production_version",
    "challenger_version",
    "prediction",
    "confidence",
    "probabilities",
    "production_prediction",
    "agree",
    "actual",
)
# As the prediction log's INSERT: the batch as one JSON document the server expands with
# JSON_TABLE. A row's index is sent (rows the challenger refused leave gaps), and its true
# class only when known: a path that matches nothing is NULL on MySQL 8 and MariaDB alike.
INSERT = f"""INSERT IGNORE INTO shadow_predictions ({", ".join(COLUMNS)})
SELECT r.request_id, r.row_index, r.predicted_at, r.dataset, r.route, r.model_name, r.production_version, r.challenger_version,
       r.prediction, r.confidence, r.probabilities, r.production_prediction, r.agree, r.actual
FROM JSON_TABLE(CONVERT(FROM_BASE64(%s) USING utf8mb4), '$[*]' COLUMNS (
    request_id VARCHAR(64) PATH '$[0]', predicted_at DATETIME(3) PATH '$[1]', dataset VARCHAR(32) PATH '$[2]',
    route VARCHAR(64) PATH '$[3]', model_name VARCHAR(255) PATH '$[4]', production_version VARCHAR(32) PATH '$[5]',
    challenger_version VARCHAR(32) PATH '$[6]',
    NESTED PATH '$[7][*]' COLUMNS (
        row_index INT PATH '$[0]', prediction VARCHAR(64) PATH '$[1]', confidence DOUBLE PATH '$[2]',
        probabilities LONGTEXT PATH '$[3]', production_prediction VARCHAR(64) PATH '$[4]', agree TINYINT PATH '$[5]',
        actual VARCHAR(64) PATH '$[6]'))) AS r"""

# One request's shadow predictions as the shadow log writes them (queued a scored batch's at a time): request_id, time, dataset,
# route, model name, production version, challenger version, and per scored row
# (row index, prediction, confidence, probabilities, production's prediction, agree, [actual]).
LogEntry = tuple[str, float, str, str, str, str, str, list[tuple[Any, ...]]]


class ShadowLog(TableWriter):
    """The challenger's shadow predictions into `shadow_predictions`, queued by the shadow worker."""

    what = "shadow log"
    statement = INSERT

    def __init__(self, settings: Settings, metrics: Metrics, engine: Engine | None = None):
        counters = (metrics.shadow_predictions_dropped, metrics.shadow_predictions_logged, "shadow_predictions_dropped_total")
        super().__init__(settings, counters, engine)
        metrics.shadow_log_queue_rows.set_function(lambda: self._rows)

    def document(self, batch: list[list[LogEntry]]) -> tuple[str]:
        # An entry is a scored batch's requests.
        stamp = timestamps()
        return (encoded([(rid, stamp(at), *rest, rows) for entries in batch for rid, at, *rest, rows in entries]),)


@dataclass
class Totals:
    """One model's production and challenger versions since start: rows scored, agreed, and right where the truth was sent."""

    rows: int = 0
    agreed: int = 0
    with_actual: int = 0
    production_correct: int = 0
    challenger_correct: int = 0


class Shadow(BatchQueue):
    what = "shadow scoring"
    full_hint = "the challenger scores slower than traffic comes"

    def __init__(self, settings: Settings, store: ModelStore, metrics: Metrics, shadow_log: ShadowLog | None = None):
        super().__init__(
            settings.shadow_queue_rows,
            settings.shadow_batch_rows,
            WAIT_SECONDS,
            metrics.shadow_dropped,
            "inference_shadow_dropped_rows_total",
        )
        self.store = store
        self.metrics = metrics
        self.shadow_log = shadow_log
        self.sample = settings.shadow_sample
        # A token bucket of rows (the request path's alone): refilled at the rate, holding a
        # second's worth; a request is scored while it holds any, however many rows it has.
        self.rate = settings.shadow_max_rows_per_second
        self._allowance, self._refilled = self.rate, time.monotonic()
        self._over_rate = metrics.shadow_dropped.labels("rate_limit")
        # (model, production version, challenger version) -> totals; the worker writes, the route reads, under _lock.
        self._totals: dict[tuple[str, str, str], Totals] = {}
        # (model, challenger version) whose scoring failed: logged once each.
        self._failing: set[tuple[str, str]] = set()
        metrics.shadow_queue_rows.set_function(lambda: self._rows)

    # --- the request path -----------------------------------------------------
    def offer(
        self, request_id: str, route: str, model: LoadedModel, rows: list[Any], predictions: list[dict[str, Any]], actual: Any = None
    ) -> None:
        """Queue production's answer for the challenger; nothing when there is none. Never blocks, never raises."""
        challenger = self.store.challenger.get(model.name)
        if challenger is None or challenger.version == model.version:
            return
        if self.sample < 1.0 and random.random() >= self.sample:
            return
        if self.rate and not self._within_rate(len(rows)):
            self._over_rate.inc(len(rows))
            return
        job: Job = (request_id, time.time(), route, model, rows, predictions, actual)
        self.put(job, len(rows))

    def _within_rate(self, rows: int) -> bool:
        """Take a request's rows from the bucket; False (nothing taken) while it is empty.

        A request may overdraw it: a batch larger than a second's worth is still scored, and
        the requests after it wait until it is paid back, so the rate holds on average.
        """
        now = time.monotonic()
        self._allowance = min(self.rate, self._allowance + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._allowance <= 0:
            return False
        self._allowance -= rows
        return True

    # --- the worker -------------------------------------------------------------
    def work(self) -> None:
        while True:
            batch, _ = self._take()
            if not batch:
                return
            self.score(batch)

    def score(self, jobs: list[Job]) -> None:
        """Score the jobs' rows with each model's challenger, one predict_proba call per model."""
        by_model: dict[str, list[Job]] = {}
        for job in jobs:
            by_model.setdefault(job[3].name, []).append(job)
        for name, group in by_model.items():
            challenger = self.store.challenger.get(name)
            try:
                self._score_model(challenger, group)
            except Exception:  # a challenger that cannot score is counted, logged once, and production is untouched
                rows = sum(len(job[4]) for job in group)
                self.metrics.shadow_dropped.labels("error").inc(rows)
                failing = (name, challenger.version if challenger else "")
                if failing not in self._failing:
                    self._failing.add(failing)
                    log.exception('%s: the challenger failed to score %d rows in shadow; counted as reason="error" from now on', name, rows)

    def _score_model(self, challenger: LoadedModel | None, jobs: list[Job]) -> None:
        # The jobs the challenger scores, each with the indexes of its rows taken (None: all of them).
        taken: list[tuple[Job, list[int] | None]] = []
        rows: list[Any] = []
        rejected = 0
        # Production's versions whose feature spec is the challenger's: their rows passed it already.
        same_spec: dict[str, bool] = {}
        for job in jobs:
            production = job[3]
            # The challenger moved since the job was queued (gone, or promoted to production): not scored.
            if challenger is None or challenger.version == production.version:
                continue
            checked = same_spec.get(production.version)
            if checked is None:
                checked = same_spec[production.version] = production.spec.raw == challenger.spec.raw
            if checked:
                taken.append((job, None))
                rows.extend(job[4])
                continue
            kept = [i for i, row in enumerate(job[4]) if not challenger.spec.check_row(row)]
            rejected += len(job[4]) - len(kept)
            if kept:
                taken.append((job, kept))
                rows.extend(job[4][i] for i in kept)
        if rejected:
            self.metrics.shadow_dropped.labels("rejected").inc(rejected)
        if not rows:
            return
        assert challenger is not None
        proba = challenger.predict_proba(rows)
        # Whole-batch numpy, then plain lists: the per-row work below is all Python.
        best, confidence, proba_rows = proba.argmax(axis=1).tolist(), proba.max(axis=1).tolist(), proba.tolist()
        keys = challenger.class_keys
        entries: list[LogEntry] = []
        counts: dict[str, list[int]] = {}
        at_row = 0
        for job, indexes in taken:
            request_id, at, route, production, job_rows, predictions, actual = job
            truth = None if actual is None else _label(actual)
            scored: list[tuple[Any, ...]] = []
            agreed = production_right = challenger_right = 0
            for i in range(len(job_rows)) if indexes is None else indexes:
                b = best[at_row]
                label, theirs = keys[b], str(predictions[i]["label"])
                agree = label == theirs
                agreed += agree
                row: tuple[Any, ...] = (i, label, confidence[at_row], json_text(dict(zip(keys, proba_rows[at_row]))), theirs, int(agree))
                if truth is not None:
                    row += (truth,)
                    production_right += theirs == truth
                    challenger_right += label == truth
                scored.append(row)
                at_row += 1
            pair = counts.setdefault(production.version, [0, 0, 0, 0, 0])
            pair[0] += len(scored)
            pair[1] += agreed
            if truth is not None:
                pair[2] += len(scored)
                pair[3] += production_right
                pair[4] += challenger_right
            entries.append(
                (request_id, at, production.dataset[:32], route, production.name, production.version, challenger.version, scored)
            )
        self._count(challenger.name, challenger.version, counts)
        if self.shadow_log is not None:
            # One entry per scored batch: one put, one lock, however many requests it holds.
            self.shadow_log.put(entries, at_row)

    def _count(self, name: str, challenger_version: str, counts: dict[str, list[int]]) -> None:
        """Add a batch's counts per production version: rows, agreed, with the truth, production right, challenger right."""
        shadow_rows, actual_rows = self.metrics.shadow_rows, self.metrics.shadow_actual_rows
        for production_version, (rows, agreed, with_actual, production_right, challenger_right) in counts.items():
            labels = (name, production_version, challenger_version)
            shadow_rows.labels(*labels, "agree").inc(agreed)
            shadow_rows.labels(*labels, "disagree").inc(rows - agreed)
            if with_actual:
                actual_rows.labels(*labels, "production", "correct").inc(production_right)
                actual_rows.labels(*labels, "production", "wrong").inc(with_actual - production_right)
                actual_rows.labels(*labels, "challenger", "correct").inc(challenger_right)
                actual_rows.labels(*labels, "challenger", "wrong").inc(with_actual - challenger_right)
            with self._lock:
                totals = self._totals.setdefault(labels, Totals())
                totals.rows += rows
                totals.agreed += agreed
                totals.with_actual += with_actual
                totals.production_correct += production_right
                totals.challenger_correct += challenger_right

    def totals(self, name: str) -> list[tuple[str, str, Totals]]:
        """Every production and challenger pair of a model scored since start: (production, challenger, totals)."""
        with self._lock:
            return [(p, c, Totals(**vars(t))) for (n, p, c), t in self._totals.items() if n == name]


def _label(actual: Any) -> str:
    """The true class as the classes' keys spell it: a whole number sent as 2.0 is class "2"."""
    if isinstance(actual, float) and actual.is_integer():
        return str(int(actual))
    return str(actual)
