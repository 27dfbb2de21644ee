"""Shadow scoring without a registry or a database: the queue, the worker's counts, and the store keeping the challenger."""

from __future__ import annotations

import base64
import json
import logging
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from inference.metrics import Metrics
from inference.model_store import ModelStore
from inference.settings import Settings
from inference.shadow import Shadow, ShadowLog

NAME = "covertype-classifier"
CLASSES = ["1", "2", "3"]


class Model:
    """A model that predicts the class named by a row's "x" (probability 0.8); its spec allows rows of "x" alone."""

    def __init__(self, version: str, spec: str = ""):
        self.name, self.version, self.dataset = NAME, version, "covertype"
        self.class_keys = CLASSES
        # Feature specs differ by `spec` (by version unless given).
        self.spec = SimpleNamespace(
            raw={"spec": spec or version}, check_row=lambda row, index=None: [] if set(row) == {"x"} else ["x alone is allowed"]
        )
        self.calls: list[int] = []

    def predict_proba(self, rows: list[dict[str, Any]]) -> np.ndarray:
        self.calls.append(len(rows))
        out = np.full((len(rows), len(CLASSES)), 0.1)
        for i, row in enumerate(rows):
            out[i, CLASSES.index(row["x"])] = 0.8
        return out


class Store:
    def __init__(self, production: Model, challenger: Model | None):
        self.production = {NAME: production}
        self.challenger = {NAME: challenger} if challenger else {}


class Log:
    """The shadow log's `put`, kept."""

    def __init__(self) -> None:
        self.entries: list[tuple[Any, int]] = []

    def put(self, entry: Any, n: int) -> None:
        self.entries.append((entry, n))


def answers(*labels: str) -> list[dict[str, Any]]:
    return [{"label": label, "confidence": 0.9, "probabilities": {}} for label in labels]


def shadow_of(store: Store, log: Log | None = None, **settings: Any) -> tuple[Shadow, Metrics]:
    metrics = Metrics()
    return Shadow(Settings(**settings), store, metrics, log), metrics  # type: ignore[arg-type]


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_a_request_that_does_not_fit_is_dropped_whole_and_counted():
    shadow, metrics = shadow_of(Store(Model("1"), Model("2")), shadow_queue_rows=5)  # never started: nothing drains
    production = Model("1")
    shadow.offer("a", "/predict", production, [{"x": "1"}] * 4, answers(*"1111"))  # type: ignore[arg-type]
    shadow.offer("b", "/predict", production, [{"x": "1"}] * 2, answers("1", "1"))  # type: ignore[arg-type]
    shadow.offer("c", "/predict", production, [{"x": "1"}], answers("1"))  # type: ignore[arg-type]
    assert sample(metrics, "inference_shadow_dropped_rows_total", reason="queue_full") == 2
    assert shadow.queued_rows == 5
    assert sample(metrics, "inference_shadow_queue_rows") == 5


def test_rows_over_the_rate_are_not_scored_and_counted_and_a_large_batch_is_paid_back(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("inference.shadow.time.monotonic", lambda: clock[0])
    shadow, metrics = shadow_of(Store(Model("1"), Model("2")), shadow_max_rows_per_second=10)
    production = Model("1")

    def offer(n: int) -> None:
        shadow.offer("r", "/predict", production, [{"x": "1"}] * n, answers(*"1" * n))  # type: ignore[arg-type]

    for _ in range(10):  # a second's worth, at once
        offer(1)
    offer(1)  # the bucket is empty
    assert (shadow.queued_rows, sample(metrics, "inference_shadow_dropped_rows_total", reason="rate_limit")) == (10, 1)
    clock[0] += 0.25  # 2.5 rows' worth: one 25-row batch is taken whole, leaving a debt of 22.5 rows
    offer(25)
    offer(1)
    assert (shadow.queued_rows, sample(metrics, "inference_shadow_dropped_rows_total", reason="rate_limit")) == (35, 2)
    clock[0] += 2.0  # 20 rows' worth: still 2.5 in debt
    offer(1)
    clock[0] += 0.5  # paid back, 2.5 to spare
    offer(1)
    assert (shadow.queued_rows, sample(metrics, "inference_shadow_dropped_rows_total", reason="rate_limit")) == (36, 3)
    # Refilled to a second's worth at most, however long it was idle.
    clock[0] += 3600
    for _ in range(11):
        offer(1)
    assert (shadow.queued_rows, sample(metrics, "inference_shadow_dropped_rows_total", reason="rate_limit")) == (46, 4)


def test_with_no_rate_limit_every_row_is_queued():
    shadow, metrics = shadow_of(Store(Model("1"), Model("2")), shadow_max_rows_per_second=0)
    for _ in range(1000):
        shadow.offer("r", "/predict", Model("1"), [{"x": "1"}], answers("1"))  # type: ignore[arg-type]
    assert shadow.queued_rows == 1000
    assert sample(metrics, "inference_shadow_dropped_rows_total", reason="rate_limit") == 0


def test_agreement_and_each_versions_accuracy_are_counted_from_one_batched_call():
    production, challenger, log = Model("1"), Model("2"), Log()
    shadow, metrics = shadow_of(Store(production, challenger), log)
    # Request a: 3 rows, no truth; the challenger agrees on rows 0 and 2, refuses nothing.
    shadow.offer("a", "/predict/covertype", production, [{"x": "1"}, {"x": "2"}, {"x": "3"}], answers("1", "3", "3"))  # type: ignore[arg-type]
    # Request b: one row with the true class 2 (sent as 2.0): production says 1 (wrong), the challenger 2 (right).
    shadow.offer("b", "/predict", production, [{"x": "2"}], answers("1"), 2.0)  # type: ignore[arg-type]
    # Request c: a row the challenger's spec refuses, then one it agrees on, truth 3: both right.
    shadow.offer("c", "/predict", production, [{"y": 0}, {"x": "3"}], answers("3", "3"), "3")  # type: ignore[arg-type]
    shadow.work()

    assert challenger.calls == [5]  # every taken row of the three requests in one predict_proba call
    pair = {"model": NAME, "production_version": "1", "challenger_version": "2"}
    assert sample(metrics, "inference_shadow_rows_total", **pair, agreement="agree") == 3
    assert sample(metrics, "inference_shadow_rows_total", **pair, agreement="disagree") == 2
    assert sample(metrics, "inference_shadow_dropped_rows_total", reason="rejected") == 1
    outcomes = {
        (role, outcome): sample(metrics, "inference_shadow_actual_rows_total", **pair, role=role, outcome=outcome)
        for role in ("production", "challenger")
        for outcome in ("correct", "wrong")
    }
    assert outcomes == {("production", "correct"): 1, ("production", "wrong"): 1, ("challenger", "correct"): 2, ("challenger", "wrong"): 0}
    [(p, c, totals)] = shadow.totals(NAME)
    assert (p, c) == ("1", "2")
    assert vars(totals) == {"rows": 5, "agreed": 3, "with_actual": 2, "production_correct": 1, "challenger_correct": 2}

    # One shadow log entry for the scored batch, a request in it each, each scored row with its own index in the request.
    [(requests, n)] = log.entries
    assert n == 5 and [r[0] for r in requests] == ["a", "b", "c"]
    by_request = {request[0]: request for request in requests}
    a = by_request["a"]
    assert a[2:7] == ("covertype", "/predict/covertype", NAME, "1", "2")
    assert [(r[0], r[1], r[4], r[5]) for r in a[7]] == [(0, "1", "1", 1), (1, "2", "3", 0), (2, "3", "3", 1)]
    assert all(len(r) == 6 for r in a[7])  # no truth sent: no actual
    assert json.loads(a[7][0][3]) == pytest.approx({"1": 0.8, "2": 0.1, "3": 0.1})
    assert [r[6] for r in by_request["b"][7]] == ["2"]
    assert [(r[0], r[6]) for r in by_request["c"][7]] == [(1, "3")]  # row 0 was refused


def test_rows_are_checked_again_only_when_the_challengers_feature_spec_differs():
    production = Model("1", spec="same")
    shadow, metrics = shadow_of(Store(production, Model("2", spec="same")), Log())
    # Production's spec is the challenger's: a row production answered is not checked again (this fake's
    # check would refuse it). A spec of its own is checked, and refuses.
    shadow.offer("a", "/predict", production, [{"x": "1", "y": 0}], answers("1"))  # type: ignore[arg-type]
    shadow.work()
    assert sample(metrics, "inference_shadow_dropped_rows_total", reason="rejected") == 0
    shadow.store.challenger = {NAME: Model("3")}  # type: ignore[attr-defined]
    shadow.offer("b", "/predict", production, [{"x": "1", "y": 0}], answers("1"))  # type: ignore[arg-type]
    shadow.work()
    assert sample(metrics, "inference_shadow_dropped_rows_total", reason="rejected") == 1


def test_no_challenger_means_nothing_queued_or_scored():
    shadow, metrics = shadow_of(Store(Model("1"), None), Log())
    shadow.offer("a", "/predict", Model("1"), [{"x": "1"}], answers("1"))  # type: ignore[arg-type]
    assert shadow.queued_rows == 0
    shadow.work()
    assert shadow.totals(NAME) == []
    assert (
        sample(metrics, "inference_shadow_rows_total", model=NAME, production_version="1", challenger_version="2", agreement="agree") == 0
    )


def test_a_challenger_on_productions_version_is_not_scored():
    challenger, log = Model("1"), Log()
    shadow, _ = shadow_of(Store(Model("1"), challenger), log)
    shadow.offer("a", "/predict", Model("1"), [{"x": "1"}], answers("1"))  # type: ignore[arg-type]
    assert shadow.queued_rows == 0
    shadow.work()
    assert challenger.calls == [] and log.entries == []


def test_rows_queued_before_the_challenger_left_are_not_scored():
    challenger, log = Model("2"), Log()
    store = Store(Model("1"), challenger)
    shadow, _ = shadow_of(store, log)
    shadow.offer("a", "/predict", Model("1"), [{"x": "1"}], answers("1"))  # type: ignore[arg-type]
    store.challenger = {}
    shadow.work()
    assert challenger.calls == [] and log.entries == [] and shadow.totals(NAME) == []


def test_a_challenger_that_fails_to_score_is_counted_logged_once_and_the_worker_goes_on(caplog):
    class Broken(Model):
        def predict_proba(self, rows):
            raise ValueError("broken")

    shadow, metrics = shadow_of(Store(Model("1"), Broken("2")), Log())
    with caplog.at_level(logging.ERROR, logger="inference.shadow"):
        for request in ("a", "b"):
            shadow.offer(request, "/predict", Model("1"), [{"x": "1"}] * 2, answers("1", "1"))  # type: ignore[arg-type]
            shadow.work()
    assert sample(metrics, "inference_shadow_dropped_rows_total", reason="error") == 4
    assert len([r for r in caplog.records if "failed to score" in r.message]) == 1


def test_the_shadow_log_document_leaves_an_unknown_truth_out():
    log = ShadowLog(Settings(), Metrics())
    rows = [(0, "1", 0.8, '{"1":0.8}', "2", 0), (1, "3", 0.7, '{"3":0.7}', "3", 1, "3")]
    (document,) = log.document([[("r1", 1767323045.6785, "covertype", "/predict", NAME, "1", "2", rows)]])
    assert json.loads(base64.b64decode(document)) == [
        ["r1", "2026-01-02 03:04:05.678", "covertype", "/predict", NAME, "1", "2", [list(rows[0]), list(rows[1])]]
    ]


# --- the store keeps the challenger beside production ---------------------------------


class Registry:
    """Aliases set by the test; loads of versions in `broken` fail."""

    def __init__(self, aliases: dict[str, str]):
        self.aliases = aliases
        self.loads: list[str] = []
        self.broken: set[str] = set()

    def version_for(self, name, alias):
        return self.aliases.get(alias)

    def load(self, name, version):
        self.loads.append(version)
        if version in self.broken:
            raise ValueError(f"version {version} is broken")
        return SimpleNamespace(name=name, version=version, compiled=None)


def test_the_store_loads_the_challenger_beside_production_and_drops_it_with_its_alias(caplog):
    registry = Registry({"production": "1", "challenger": "2"})
    store = ModelStore(Settings(models=NAME), registry)  # type: ignore[arg-type]
    store.refresh()
    assert store.production[NAME].version == "1" and store.challenger[NAME].version == "2"
    held = store.challenger
    store.refresh()
    assert store.challenger is held and registry.loads == ["1", "2"]  # nothing loaded again

    # Promoted: production takes the challenger's loaded copy, and there is no challenger any more.
    registry.aliases = {"production": "2", "challenger": "2"}
    store.refresh()
    assert store.production[NAME] is held[NAME] and store.challenger == {} and registry.loads == ["1", "2"]

    # A challenger that fails to load is logged once; production serves on.
    registry.aliases = {"production": "2", "challenger": "3"}
    registry.broken = {"3"}
    with caplog.at_level(logging.WARNING, logger="inference.model_store"):
        store.refresh()
        store.refresh()
    assert [r.message for r in caplog.records if "challenger version 3 failed" in r.message][1:] == []
    assert any("challenger version 3 failed" in r.message for r in caplog.records)
    assert store.challenger == {} and store.production[NAME].version == "2" and store.status[NAME]["state"] == "ready"

    registry.broken = set()
    store.refresh()
    assert store.challenger[NAME].version == "3"
    registry.aliases = {"production": "2"}
    store.refresh()
    assert store.challenger == {}


def test_with_shadow_off_no_challenger_is_loaded():
    registry = Registry({"production": "1", "challenger": "2"})
    store = ModelStore(Settings(models=NAME, shadow="off"), registry)  # type: ignore[arg-type]
    store.refresh()
    assert store.challenger == {} and registry.loads == ["1"]
