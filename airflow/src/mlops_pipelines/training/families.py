"""The model families the platform trains and the hyper-parameters each exposes as a DAG Param.

A hyper-parameter is described by the JSON schema of one value: the same schema
validates the Airflow Param in the trigger form and the grid in `grids`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin

# scikit-learn is imported where an estimator is made, not here: DAG files import
# this module at every parse.

# Cores. The platform runs on 2 cores, and the DAG cross-validates two
# candidates at once (one mapped task each, TRAINING_CANDIDATES_AT_ONCE), so
# a candidate's folds and a forest's trees get one core each: nothing waits on
# a lock or a second process pool, and Airflow's own per-task start-up overlaps
# with the other candidate's fitting. The winner is refit alone afterwards,
# with both cores. Measured in bench/README.md.
CV_N_JOBS = 1
REFIT_N_JOBS = 2

# BLAS threads while fitting and scoring. The matrices are small (54 columns):
# OpenBLAS threads only synchronise, and on 2 busy cores they made a Covertype
# logistic regression 20x slower (3.1 s instead of 0.16 s on 2,500 rows).
BLAS_THREADS = 1

# Logistic regression with lbfgs converges on both datasets well within this;
# the bound keeps a bad C from running for minutes.
LR_MAX_ITER = 1000


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    schema: dict[str, Any]  # JSON schema of one value
    default: tuple[Any, ...]  # default grid values
    description: str


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    hyperparameters: tuple[Hyperparameter, ...]
    make: Callable[[dict[str, Any], int], ClassifierMixin]  # (hyper-parameters, random_state)
    parallel_fit: bool = False  # its fit uses n_jobs cores (the winner's refit gets REFIT_N_JOBS)

    @property
    def default_grid(self) -> dict[str, list[Any]]:
        return {h.name: list(h.default) for h in self.hyperparameters}


def _logistic_regression(params: dict[str, Any], random_state: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=LR_MAX_ITER, random_state=random_state, **params)


def _random_forest(params: dict[str, Any], random_state: int):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(random_state=random_state, n_jobs=CV_N_JOBS, **params)


def _svm(params: dict[str, Any], random_state: int):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    # The platform serves class probabilities and scores log loss. An SVC gets
    # them by Platt scaling on an inner 5-fold CV: SVC(probability=True) did
    # that inside libsvm, deprecated in scikit-learn 1.9 for this equivalent
    # (one SVC fit on all rows, sigmoid calibrated on out-of-fold decisions).
    # Unshuffled folds: the rows come shuffled by the train/test split already.
    return CalibratedClassifierCV(SVC(random_state=random_state, **params), method="sigmoid", ensemble=False, cv=5)


# Inverse regularisation strength, with the same default values, of logistic regression and the SVM.
REGULARISATION = Hyperparameter("C", {"type": "number", "exclusiveMinimum": 0}, (0.1, 1.0, 10.0), "inverse regularisation strength")

LOGISTIC_REGRESSION = Family(
    name="logistic_regression",
    title="Logistic regression",
    hyperparameters=(
        REGULARISATION,
        Hyperparameter(
            "class_weight",
            {"enum": [None, "balanced"]},
            (None, "balanced"),
            "null: every row counts the same; balanced: rare classes weigh more",
        ),
    ),
    make=_logistic_regression,
)

RANDOM_FOREST = Family(
    name="random_forest",
    title="Random forest",
    hyperparameters=(
        # 50 trees score as well as 100 on Covertype (bench/) at half the size.
        Hyperparameter("n_estimators", {"type": "integer", "minimum": 1, "maximum": 1000}, (50,), "number of trees"),
        # Bounded by default: the registered model is loaded by the inference
        # service, and on the full Covertype file 50 trees weigh 35 MB at depth
        # 16 but 145 MB unbounded (for 8 points more accuracy).
        Hyperparameter(
            "max_depth",
            {"type": ["integer", "null"], "minimum": 1},
            (12, 16),
            "maximum tree depth (null: unbounded; the model grows large)",
        ),
        Hyperparameter("min_samples_leaf", {"type": "integer", "minimum": 1}, (1, 2), "minimum rows in a leaf"),
    ),
    make=_random_forest,
    parallel_fit=True,
)

SVM = Family(
    name="svm",
    title="Support-vector machine",
    hyperparameters=(
        REGULARISATION,
        Hyperparameter("kernel", {"enum": ["linear", "rbf", "poly", "sigmoid"]}, ("linear", "rbf"), "kernel function"),
        Hyperparameter(
            "gamma",
            {"anyOf": [{"enum": ["scale", "auto"]}, {"type": "number", "exclusiveMinimum": 0}]},
            ("scale",),
            "kernel coefficient (rbf, poly, sigmoid): scale, auto or a number",
        ),
    ),
    make=_svm,
)

# Training order, which is also the tie-break order: the simpler model first.
FAMILIES: dict[str, Family] = {f.name: f for f in (LOGISTIC_REGRESSION, SVM, RANDOM_FOREST)}
