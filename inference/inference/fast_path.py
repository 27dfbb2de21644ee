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

One row (what most requests send) goes through the same steps in plain Python
(`CompiledPipeline.probabilities`): numpy's per-call cost, a microsecond or more per
operation on arrays of one row, was most of the compiled path's time. A logistic
regression's scores are sums over the row's non-zero features, a forest's trees are
walked from nested tuples of their nodes and their leaves' values summed in one numpy
call (the tuples and the leaves' values: 20 MB beside the trees' own 18 MB for a 50-tree
forest of 156,000 nodes). Any other classifier gets the row as a one-row array.

Extended rather than replaced by a converter (skl2onnx + ONNX Runtime): the
compiled path covers every step the training DAGs use with no new dependency,
runs the fitted objects' own numbers, and is verified against the pipeline at
load; a converter would need its own converter for the FunctionTransformer
steps and a string missing-value marker for the categorical imputer.
"""

from __future__ import annotations

import logging
import math
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

# Block ops take and return an (n_rows, n_columns) array; row ops one row's values as a list.
Op = Callable[[np.ndarray], np.ndarray]
RowOp = Callable[[list[Any]], list[Any]]
# A classifier on one transformed row: its probabilities, or None to leave the row to the array path.
RowClassifier = Callable[[list[float]], "list[float] | None"]


class Unsupported(Exception):
    pass


def _imputer(step: SimpleImputer, categorical: bool) -> tuple[Op, RowOp]:
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

    fills = fill.tolist()

    def impute_row(values: list[Any]) -> list[Any]:
        if categorical:
            return [f if v is None or (isinstance(v, float) and v != v) else v for v, f in zip(values, fills)]
        return [f if v != v else v for v, f in zip(values, fills)]

    return impute, impute_row


def _scaler(step: StandardScaler) -> tuple[Op, RowOp]:
    mean = step.mean_ if step.with_mean else None
    scale = step.scale_ if step.with_std else None

    def standardize(block: np.ndarray) -> np.ndarray:
        # Same operations, same order as StandardScaler.transform.
        if mean is not None:
            block = block - mean
        if scale is not None:
            block = block / scale
        return block

    means = None if mean is None else mean.tolist()
    scales = None if scale is None else scale.tolist()

    def standardize_row(values: list[Any]) -> list[Any]:
        if means is not None and scales is not None:  # one pass, the same two operations
            return [(v - m) / d for v, m, d in zip(values, means, scales)]
        if means is not None:
            values = [v - m for v, m in zip(values, means)]
        if scales is not None:
            values = [v / d for v, d in zip(values, scales)]
        return values

    return standardize, standardize_row


def _one_hot(step: OneHotEncoder) -> tuple[Op, RowOp]:
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

    width, starts = int(offsets[-1]), offsets[:-1].tolist()

    def encode_row(values: list[Any]) -> list[Any]:
        out = [0.0] * width
        for value, lookup, start in zip(values, lookups, starts):
            index = lookup.get(value)
            if index is None:
                if not ignore_unknown:
                    raise ValueError(f"unknown category {value!r}")
                continue
            out[start + index] = 1.0
        return out

    return encode, encode_row


def _function(step: FunctionTransformer) -> tuple[Op, RowOp]:
    """The transformer's own function on the array, as FunctionTransformer.transform calls it.

    Only numpy functions (the engineered features: np.log, np.diff, np.exp):
    one written for DataFrames would see an array here.
    """
    func, kw_args = step.func, dict(step.kw_args or {})
    if func is None:
        return (lambda block: block), (lambda values: values)
    if getattr(func, "__module__", None) != "numpy":
        raise Unsupported(f"FunctionTransformer of {getattr(func, '__qualname__', func)!r}")
    if step.validate:
        raise Unsupported("FunctionTransformer with validate=True")

    def apply(block: np.ndarray) -> np.ndarray:
        return np.asarray(func(block, **kw_args), dtype=float)

    # The function sees the row as a one-row array, as in a batch.
    return apply, lambda values: apply(np.array([values], dtype=float))[0].tolist()


def _block_ops(transformer: Any) -> tuple[list[Op], list[RowOp], bool]:
    steps = [s for _, s in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    categorical = any(isinstance(s, OneHotEncoder) for s in steps)
    pairs: list[tuple[Op, RowOp]] = []
    for step in steps:
        if isinstance(step, SimpleImputer):
            pairs.append(_imputer(step, categorical))
        elif isinstance(step, StandardScaler):
            pairs.append(_scaler(step))
        elif isinstance(step, OneHotEncoder):
            pairs.append(_one_hot(step))
        elif isinstance(step, FunctionTransformer) and not categorical:
            pairs.append(_function(step))
        else:
            raise Unsupported(type(step).__name__)
    return [op for op, _ in pairs], [row_op for _, row_op in pairs], categorical


class CompiledPipeline:
    def __init__(self, pipeline: Pipeline, columns: list[str]):
        if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
            raise Unsupported("expected Pipeline(ColumnTransformer, classifier)")
        transform, self.classifier = pipeline.steps[0][1], pipeline.steps[1][1]
        if not isinstance(transform, ColumnTransformer):
            raise Unsupported("first step is not a ColumnTransformer")
        self.n_out = sum(s.stop - s.start for s in transform.output_indices_.values())
        self.blocks = []
        self.row_blocks = []
        for name, transformer, block_columns in transform.transformers_:
            if transformer == "drop" or len(block_columns) == 0:
                continue
            if transformer == "passthrough":
                raise Unsupported("passthrough columns")
            names = [columns[c] if isinstance(c, (int, np.integer)) else c for c in block_columns]
            ops, row_ops, categorical = _block_ops(transformer)
            self.blocks.append((transform.output_indices_[name], names, ops, categorical))
            self.row_blocks.append((transform.output_indices_[name], names, row_ops, categorical))
        self.classify_row = _row_classifier(self.classifier)

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

    def transform_row(self, row: dict[str, Any]) -> list[float]:
        """`transform([row])[0]`, in plain Python."""
        out = [0.0] * self.n_out
        for output, names, ops, categorical in self.row_blocks:
            values: list[Any]
            if categorical:
                values = [row.get(n) for n in names]
            else:
                values = [_NAN if (v := row.get(n)) is None else float(v) for n in names]
            for op in ops:
                values = op(values)
            out[output] = values
        return out

    def probabilities(self, rows: list[dict[str, Any]]) -> list[list[float]]:
        """`predict_proba(rows).tolist()`; one row through the plain-Python steps."""
        if len(rows) != 1:
            return self.predict_proba(rows).tolist()
        x = self.transform_row(rows[0])
        # A value still missing after the transform: the classifier's own handling, on an array.
        proba = self.classify_row(x) if self.classify_row is not None and all(v == v for v in x) else None
        if proba is None:
            return self.classify(np.array([x])).tolist()
        return [proba]

    def predict_proba(self, rows: list[dict[str, Any]]) -> np.ndarray:
        return self.classify(self.transform(rows))

    def classify(self, X: np.ndarray) -> np.ndarray:
        if isinstance(self.classifier, RandomForestClassifier) and self.classifier.n_outputs_ == 1:
            return _forest_proba(self.classifier, X)
        if _is_sigmoid_calibrated_svm(self.classifier):
            return _calibrated_svm_proba(self.classifier, X)
        if type(self.classifier) is LogisticRegression:
            return _logistic_proba(self.classifier, X)
        return self.classifier.predict_proba(X)


_NAN = float("nan")


def _row_classifier(model: Any) -> RowClassifier | None:
    if isinstance(model, RandomForestClassifier) and model.n_outputs_ == 1:
        try:
            return _ForestRow(model)
        except Unsupported:  # the array path still serves it
            return None
    if type(model) is LogisticRegression:
        return _logistic_row(model)
    return None


def _logistic_row(model: LogisticRegression) -> RowClassifier:
    """`_logistic_proba` of one row: each class's score summed over the row's non-zero features (a one-hot row is mostly zeros)."""
    coef, intercept, binary = model.coef_.tolist(), model.intercept_.tolist(), len(model.classes_) <= 2

    def proba(x: list[float]) -> list[float]:
        nonzero = [(j, v) for j, v in enumerate(x) if v]
        scores = [sum([c[j] * v for j, v in nonzero]) + b for c, b in zip(coef, intercept)]
        if binary:
            try:
                positive = 1.0 / (1.0 + math.exp(-scores[0]))
            except OverflowError:  # expit's 0 for a very negative score
                positive = 0.0
            return [1.0 - positive, positive]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]

    return proba


class _ForestRow:
    """`_forest_proba` of one row: each tree walked as its `apply` does (float32 values against the
    thresholds), the leaves' values summed tree after tree by one numpy call.

    A node is a tuple (feature, threshold, left, right) holding its children's tuples, a leaf
    (-1, its row in `values`, None, None): a step is one unpacking, not four list lookups.
    """

    def __init__(self, forest: RandomForestClassifier):
        self.roots = []
        leaf_values = []
        n_leaves = 0
        for estimator in forest.estimators_:
            tree = estimator.tree_
            left, right, feature, threshold = (
                tree.children_left.tolist(),
                tree.children_right.tolist(),
                tree.feature.tolist(),
                tree.threshold.tolist(),
            )
            leaves = [node for node in range(tree.node_count) if left[node] == -1]
            row = {node: n_leaves + i for i, node in enumerate(leaves)}
            n_leaves += len(leaves)
            leaf_values.append(tree.value[leaves, 0, : estimator.n_classes_])
            nodes: list[Any] = [None] * tree.node_count
            # Children after their parent: built from the last node back, each finds its children made.
            for node in range(tree.node_count - 1, -1, -1):
                child, other = left[node], right[node]
                if child == -1:
                    nodes[node] = (-1, row[node], None, None)
                elif min(child, other) <= node:
                    raise Unsupported("a tree node numbered after its children")
                else:
                    nodes[node] = (feature[node], threshold[node], nodes[child], nodes[other])
            self.roots.append(nodes[0])
        self.values = np.concatenate(leaf_values)
        self.n_trees = len(forest.estimators_)

    def __call__(self, x: list[float]) -> list[float]:
        x32 = np.asarray(x, dtype=np.float32).tolist()
        leaves = []
        for feature, threshold, left, right in self.roots:
            while feature >= 0:
                feature, threshold, left, right = left if x32[feature] <= threshold else right
            leaves.append(threshold)  # a leaf's second field: its row in `values`
        # take and add.reduce: the same sums as values[leaves].sum(axis=0), for less per-call overhead.
        total = np.add.reduce(self.values.take(leaves, axis=0), axis=0)
        total /= self.n_trees
        return total.tolist()


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
        # One row at a time too: requests of one row take the plain-Python steps.
        alone = np.array([compiled.probabilities([row])[0] for row in check_rows])
    except (Unsupported, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("serving through the sklearn pipeline (no compiled path: %s)", exc)
        return None
    for what, probabilities in (("compiled path", got), ("compiled path of one row", alone)):
        if probabilities.shape != expected.shape or not np.allclose(probabilities, expected, rtol=0, atol=atol):
            difference = np.abs(probabilities - expected).max() if probabilities.shape == expected.shape else float("inf")
            log.warning("serving through the sklearn pipeline (%s differs by %.3g)", what, difference)
            return None
    return compiled
