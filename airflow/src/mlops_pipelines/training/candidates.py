"""Fitting a grid's candidates one at a time; a candidate's failure is recorded, not raised.

Used by the training tasks (which log each outcome to MLflow before fitting the
next, so only one model is in memory) and by the benchmark, outside MLflow.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
from threadpoolctl import threadpool_limits

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.training.data import Split
from mlops_pipelines.training.evaluation import score
from mlops_pipelines.training.families import BLAS_THREADS, FAMILIES
from mlops_pipelines.training.grids import Candidate, candidates
from mlops_pipelines.training.pipelines import build_pipeline

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    candidate: Candidate
    model: Any = None
    metrics: dict[str, float] = field(default_factory=dict)  # test scores plus fit_time_s
    predictions: np.ndarray | None = None  # on the test split
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def fit_candidate(contract: DatasetContract, candidate: Candidate, parts: Split, random_state: int) -> Outcome:
    """Build, fit and score one candidate; any exception becomes the outcome's error."""
    try:
        model = build_pipeline(contract, FAMILIES[candidate.family].make(candidate.params, random_state))
        with threadpool_limits(limits=BLAS_THREADS):
            start = time.perf_counter()
            model.fit(parts.X_train, parts.y_train)
            fit_time = time.perf_counter() - start
            metrics = score(model, parts.X_test, parts.y_test, contract.classes)
            predictions = model.predict(parts.X_test)
        return Outcome(candidate, model, {**metrics, "fit_time_s": fit_time}, predictions)
    except Exception as exc:  # one candidate's failure must not stop the grid
        log.warning("candidate %s %s failed: %s: %s", candidate.key, candidate.params, type(exc).__name__, exc)
        return Outcome(candidate, error=exc)


def fit_grid(contract: DatasetContract, family: str, grid: Any, parts: Split, random_state: int) -> Iterator[Outcome]:
    """Outcomes in grid order, lazily: the caller drops each model before the next is fitted."""
    for candidate in candidates(family, grid):
        yield fit_candidate(contract, candidate, parts, random_state)
