"""A candidate's cross-validation on the training split, and the winner's refit and test score.

Runs without MLflow or Airflow: the training tasks log what these return, the
benchmark prints it. A candidate's own failure is returned, not raised, so the
rest of the grid goes on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_validate
from threadpoolctl import threadpool_limits

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.mlflow_names import cv_mean, cv_std, test_metric
from mlops_pipelines.scoring import score
from mlops_pipelines.training.data import Split
from mlops_pipelines.training.families import BLAS_THREADS, CV_N_JOBS, FAMILIES
from mlops_pipelines.training.grids import Candidate
from mlops_pipelines.training.pipelines import build_pipeline
from mlops_pipelines.training.selection import HIGHER_IS_BETTER

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    candidate: Candidate
    metrics: dict[str, float] = field(default_factory=dict)
    error: Exception | None = None
    model: Any = None  # the refit pipeline (refit only)
    predictions: np.ndarray | None = None  # on the test split (refit only)

    @property
    def ok(self) -> bool:
        return self.error is None


def folds(n_folds: int, random_state: int) -> StratifiedKFold:
    """Stratified and shuffled (the clean table is in arrival order), seeded: every candidate sees the same folds."""
    return StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)


def build(contract: DatasetContract, candidate: Candidate, random_state: int, engineered: bool):
    return build_pipeline(contract, FAMILIES[candidate.family].make(candidate.params, random_state), engineered)


def cross_validate_candidate(
    contract: DatasetContract,
    candidate: Candidate,
    X_train: pd.DataFrame,
    y_train: pd.Series,
    n_folds: int,
    random_state: int,
    engineered: bool = False,
    n_jobs: int = CV_N_JOBS,
) -> Outcome:
    """Mean and standard deviation across folds of every metric, and the fit time.

    scikit-learn's cross_validate with the platform's own scorer (scoring.score:
    probabilities aligned to the contract's classes, so a fold missing a class
    still has a log loss). A failing fold fails the candidate (error_score="raise").
    """
    try:
        model = build(contract, candidate, random_state, engineered)
        with threadpool_limits(limits=BLAS_THREADS):
            start = time.perf_counter()
            result = cross_validate(
                model,
                X_train,
                y_train,
                cv=folds(n_folds, random_state),
                n_jobs=n_jobs,
                scoring=partial(score, classes=tuple(contract.classes)),
                error_score="raise",
            )
            wall = time.perf_counter() - start
        metrics = {}
        for metric in HIGHER_IS_BETTER:
            values = np.asarray(result[f"test_{metric}"], dtype=float)
            metrics[cv_mean(metric)], metrics[cv_std(metric)] = float(values.mean()), float(values.std())
        metrics.update({"cv_fit_time_s_mean": float(np.mean(result["fit_time"])), "cv_time_s": wall})
        return Outcome(candidate, metrics)
    except Exception as exc:  # one candidate's failure must not stop the grid
        log.warning("candidate %s %s failed: %s: %s", candidate.key, candidate.params, type(exc).__name__, exc)
        return Outcome(candidate, error=exc)


def refit_and_test(
    contract: DatasetContract, candidate: Candidate, parts: Split, random_state: int, engineered: bool = False, n_jobs: int | None = None
) -> Outcome:
    """The chosen candidate fit on the whole training split, then scored once on the test split.

    Raises (unlike cross-validation): the candidate already fit on every fold, so
    a failure here is the machine's, and the task retries it.
    """
    model = build(contract, candidate, random_state, engineered)
    if n_jobs and FAMILIES[candidate.family].parallel_fit:
        model.set_params(classifier__n_jobs=n_jobs)
    with threadpool_limits(limits=BLAS_THREADS):
        start = time.perf_counter()
        model.fit(parts.X_train, parts.y_train)
        fit_time = time.perf_counter() - start
        metrics = {test_metric(k): v for k, v in score(model, parts.X_test, parts.y_test, contract.classes).items()}
        predictions = model.predict(parts.X_test)
    return Outcome(candidate, {**metrics, "refit_time_s": fit_time}, model=model, predictions=predictions)
