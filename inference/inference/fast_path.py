"""predict_proba of a fitted scikit-learn pipeline on JSON rows, without pandas.

A one-row DataFrame through a ColumnTransformer costs milliseconds, mostly
pandas and input checking. The transform of the pipelines this platform trains
(imputer, scaler, one-hot encoder, and the engineered ratio features: numpy
functions in FunctionTransformers) is a few array operations, so it is compiled
once per loaded model from the fitted parameters and checked against the
pipeline itself before it is used. The classifier then gets the transformed
array: a forest through `_forest_proba`, the calibrated SVM through
`_calibrated_svm_proba`, a logistic regression through `_logistic_proba` (all
three skip scikit-learn's per-call input checks, most of a one-row call), any
other through its own predict_proba. Anything it does not recognise makes `compile_pipeline` return None, and
the model is served through the pipeline.

Extended rather than replaced by a converter (skl2onnx + ONNX Runtime): the
compiled path covers every step the training DAGs use with no new dependency,
runs the fitted objects' own numbers, and is verified against the pipeline at
load; a converter would need its own converter for the FunctionTransformer
steps and a string missing-value marker for the categorical imputer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.utils.multiclass import _ovr_decision_function

log = logging.getLogger(__name__)

# Block ops take and return an (n_rows, n_columns) array.
Op = Callable[[np.ndarray], np.ndarray]


class Unsupported(Exception):
    pass


def _imputer(step: SimpleImputer, categorical: bool) -> Op:
    if step.add_indicator or not (isinstance(step.missing_values, float) and np.isnan(step.missing_values)):
        raise Unsupported("imputer with indicator or non-NaN missing marker")
    fill = np.asarray(step.statistics_, dtype=object if categorical else float)
    if not categorical and np.isnan(fill).any():
        raise Unsupported("imputer dropped an all-missing column")

    def impute(block: np.ndarray) -> np.ndarray:
        if categorical:
            missing = np.array([[v is None or (isinstance(v, float) and v != v) for v in row] for row in block], dtype=bool)
        else:
            missing = np.isnan(block)
        if missing.any():
            block = block.copy()
            block[missing] = np.broadcast_to(fill, block.shape)[missing]
        return block

    return impute


def _scaler(step: StandardScaler) -> Op:
    mean = step.mean_ if step.with_mean else None
    scale = step.scale_ if step.with_std else None

    def standardize(block: np.ndarray) -> np.ndarray:
        # Same operations, same order as StandardScaler.transform.
        if mean is not None:
            block = block - mean
        if scale is not None:
            block = block / scale
        return block

    return standardize


def _one_hot(step: OneHotEncoder) -> Op:
    if step.drop_idx_ is not None or getattr(step, "_infrequent_enabled", False):
        raise Unsupported("one-hot encoder with dropped or infrequent categories")
    lookups = [{value: i for i, value in enumerate(cats)} for cats in step.categories_]
    offsets = np.cumsum([0] + [len(c) for c in step.categories_])
    ignore_unknown = step.handle_unknown in ("ignore", "infrequent_if_exist")

    def encode(block: np.ndarray) -> np.ndarray:
        out = np.zeros((block.shape[0], offsets[-1]))
        for j, lookup in enumerate(lookups):
            for i, value in enumerate(block[:, j]):
                index = lookup.get(value)
                if index is None:
                    if not ignore_unknown:
                        raise ValueError(f"unknown category {value!r}")
                    continue
                out[i, offsets[j] + index] = 1.0
        return out

    return encode


def _function(step: FunctionTransformer) -> Op:
    """The transformer's own function on the array, as FunctionTransformer.transform calls it.

    Only numpy functions (the engineered features: np.log, np.diff, np.exp):
    one written for DataFrames would see an array here.
    """
    func, kw_args = step.func, dict(step.kw_args or {})
    if func is None:
        return lambda block: block
    if getattr(func, "__module__", None) != "numpy":
        raise Unsupported(f"FunctionTransformer of {getattr(func, '__qualname__', func)!r}")
    if step.validate:
        raise Unsupported("FunctionTransformer with validate=True")
    return lambda block: np.asarray(func(block, **kw_args), dtype=float)


def _block_ops(transformer: Any) -> tuple[list[Op], bool]:
    steps = [s for _, s in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    categorical = any(isinstance(s, OneHotEncoder) for s in steps)
    ops: list[Op] = []
    for step in steps:
        if isinstance(step, SimpleImputer):
            ops.append(_imputer(step, categorical))
        elif isinstance(step, StandardScaler):
            ops.append(_scaler(step))
        elif isinstance(step, OneHotEncoder):
            ops.append(_one_hot(step))
        elif isinstance(step, FunctionTransformer) and not categorical:
            ops.append(_function(step))
        else:
            raise Unsupported(type(step).__name__)
    return ops, categorical


class CompiledPipeline:
    def __init__(self, pipeline: Pipeline, columns: list[str]):
        if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
            raise Unsupported("expected Pipeline(ColumnTransformer, classifier)")
        transform, self.classifier = pipeline.steps[0][1], pipeline.steps[1][1]
        if not isinstance(transform, ColumnTransformer):
            raise Unsupported("first step is not a ColumnTransformer")
        self.n_out = sum(s.stop - s.start for s in transform.output_indices_.values())
        self.blocks = []
        for name, transformer, block_columns in transform.transformers_:
            if transformer == "drop" or len(block_columns) == 0:
                continue
            if transformer == "passthrough":
                raise Unsupported("passthrough columns")
            names = [columns[c] if isinstance(c, (int, np.integer)) else c for c in block_columns]
            ops, categorical = _block_ops(transformer)
            self.blocks.append((transform.output_indices_[name], names, ops, categorical))

    def transform(self, rows: list[dict[str, Any]]) -> np.ndarray:
        out = np.empty((len(rows), self.n_out))
        for output, names, ops, categorical in self.blocks:
            if categorical:
                block = np.array([[row.get(n) for n in names] for row in rows], dtype=object)
            else:
                block = np.array([[np.nan if row.get(n) is None else row[n] for n in names] for row in rows], dtype=float)
            for op in ops:
                block = op(block)
            out[:, output] = block
        return out

    def predict_proba(self, rows: list[dict[str, Any]]) -> np.ndarray:
        X = self.transform(rows)
        if isinstance(self.classifier, RandomForestClassifier) and self.classifier.n_outputs_ == 1:
            return _forest_proba(self.classifier, X)
        if _is_sigmoid_calibrated_svm(self.classifier):
            return _calibrated_svm_proba(self.classifier, X)
        if type(self.classifier) is LogisticRegression:
            return _logistic_proba(self.classifier, X)
        return self.classifier.predict_proba(X)


def _logistic_proba(model: LogisticRegression, X: np.ndarray) -> np.ndarray:
    """LogisticRegression.predict_proba without its input validation: the same operations in the same order.

    Binary: the sigmoid of the decision function; more classes: its softmax
    (scikit-learn's multinomial, the only multi-class form since 1.8).
    """
    scores = X @ model.coef_.T + model.intercept_
    if len(model.classes_) <= 2:
        positive = expit(scores.ravel())
        return np.stack([1 - positive, positive], axis=1)
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


def _forest_proba(forest: RandomForestClassifier, X: np.ndarray) -> np.ndarray:
    """RandomForestClassifier.predict_proba without its joblib round trip per tree.

    The same sums in the same order (trees one after another, then the mean),
    so the same numbers: with n_jobs=1 the joblib machinery costs several
    milliseconds a request, the trees themselves microseconds each.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)  # what the trees compare on
    total = np.zeros((X.shape[0], forest.n_classes_), dtype=np.float64)
    for tree in forest.estimators_:
        total += tree.tree_.predict(X)[:, : tree.n_classes_]
    total /= len(forest.estimators_)
    return total


def _is_sigmoid_calibrated_svm(model: Any) -> bool:
    return (
        isinstance(model, CalibratedClassifierCV)
        and model.method == "sigmoid"
        and all(
            isinstance(c.estimator, SVC)
            and not c.estimator._sparse
            and isinstance(c.estimator.kernel, str)
            and c.estimator.decision_function_shape == "ovr"
            for c in model.calibrated_classifiers_
        )
    )


def _calibrated_svm_proba(model: CalibratedClassifierCV, X: np.ndarray) -> np.ndarray:
    """CalibratedClassifierCV(SVC, method="sigmoid").predict_proba, the same steps without their input checks.

    The training DAGs' SVM family. scikit-learn validates the array nine times
    per call (2 ms for one row); this is libsvm's decision function, the
    one-vs-rest transform and each class's sigmoid, in the order
    sklearn.calibration._CalibratedClassifier.predict_proba applies them.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n_classes = len(model.classes_)
    mean = np.zeros((X.shape[0], n_classes))
    for calibrated in model.calibrated_classifiers_:
        svc = calibrated.estimator
        decision = svc._dense_decision_function(X)
        if len(svc.classes_) == 2:
            decision = -decision.ravel()
        else:
            decision = _ovr_decision_function(decision < 0, -decision, len(svc.classes_))
        decision = decision.reshape(X.shape[0], -1)
        proba = np.zeros((X.shape[0], n_classes))
        positions = np.searchsorted(calibrated.classes, svc.classes_)
        for position, values, calibrator in zip(positions, decision.T, calibrated.calibrators):
            proba[:, position + 1 if n_classes == 2 else position] = expit(-(calibrator.a_ * values + calibrator.b_))
        if n_classes == 2:
            proba[:, 0] = 1.0 - proba[:, 1]
        else:
            denominator = proba.sum(axis=1)[:, np.newaxis]
            proba = np.divide(proba, denominator, out=np.full_like(proba, 1 / n_classes), where=denominator != 0)
        mean += proba
    return mean / len(model.calibrated_classifiers_)


def frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Request rows as one DataFrame, every missing value NaN.

    A column holding only None (a one-row request without `sex`) would stay an
    object column of None, which the imputers do not count as missing; in a
    batch pandas makes it NaN. Both must predict alike.
    """
    df = pd.DataFrame(rows, columns=columns)
    return df.where(df.notna(), np.nan)


def compile_pipeline(pipeline: Any, columns: list[str], check_rows: list[dict[str, Any]], atol: float = 1e-12) -> CompiledPipeline | None:
    """The compiled path, if it gives the pipeline's own probabilities on `check_rows`."""
    try:
        compiled = CompiledPipeline(pipeline, columns)
        expected = pipeline.predict_proba(frame(check_rows, columns))
        got = compiled.predict_proba(check_rows)
    except (Unsupported, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("serving through the sklearn pipeline (no compiled path: %s)", exc)
        return None
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=0, atol=atol):
        log.warning("serving through the sklearn pipeline (compiled path differs by %.3g)", np.abs(got - expected).max())
        return None
    return compiled
