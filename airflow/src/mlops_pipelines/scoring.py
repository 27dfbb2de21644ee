"""How rows are typed for a model and how its predictions are scored.

One definition for training (each CV fold, the test split that becomes a
version's baseline) and monitoring (each live batch), so that live accuracy is
comparable with the baseline it is held to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, log_loss

from mlops_pipelines.contracts import Categorical, DatasetContract


def typed(frame: pd.DataFrame, contract: DatasetContract) -> pd.DataFrame:
    """Features and target with the dtypes the model is trained and served with.

    Integers stay int64 where the contract forbids missing values (the model's
    signature then says "long"); categories are strings with NaN for missing.
    """
    columns = {}
    for feature in contract.features:
        values = frame[feature.name]
        if isinstance(feature, Categorical):
            columns[feature.name] = values.astype("str")
        elif feature.integer and not feature.nullable:
            columns[feature.name] = values.astype("int64")
        else:
            columns[feature.name] = pd.to_numeric(values).astype("float64")
    columns[contract.target] = frame[contract.target].astype("int64" if contract.integer_classes else "str")
    return pd.DataFrame(columns).reset_index(drop=True)


def aligned_proba(model, X: pd.DataFrame, classes: Sequence[Any]) -> np.ndarray:
    """Class probabilities with one column per contract class, in contract order.

    A class missing from the training split has no column in predict_proba; it
    gets probability 0 here, so the log loss stays defined on every test split.
    """
    proba = model.predict_proba(X)
    out = np.zeros((len(X), len(classes)))
    position = {c: i for i, c in enumerate(classes)}
    for j, label in enumerate(model.classes_):
        out[:, position[label]] = proba[:, j]
    return out


def score(model, X: pd.DataFrame, y: pd.Series, classes: Sequence[Any]) -> dict[str, float]:
    predicted = model.predict(X)
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        # Averaged over the classes present in the test split or predicted.
        "f1_macro": float(f1_score(y, predicted, average="macro", zero_division=0)),
        "log_loss": float(log_loss(y, aligned_proba(model, X, classes), labels=list(classes))),
    }
