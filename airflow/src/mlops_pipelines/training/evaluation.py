"""How a fitted model is scored (on each CV fold, and the winner once on the test split), and the
confusion-matrix figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss


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


def confusion_matrix_figure(y_true, y_pred, classes: Sequence[Any], class_names: dict[Any, str], title: str):
    """Counts of test rows by true (rows) and predicted (columns) class."""
    import matplotlib

    matplotlib.use("Agg")  # no display in a task or a test
    from matplotlib.figure import Figure

    matrix = confusion_matrix(y_true, y_pred, labels=list(classes))
    labels = [class_names.get(c, str(c)) for c in classes]
    size = 2.0 + 0.7 * len(classes)
    fig = Figure(figsize=(size + 1.5, size))
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_yticklabels(labels)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i, j in np.ndindex(matrix.shape):
        ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color="white" if matrix[i, j] > threshold else "black", fontsize=8)
    fig.tight_layout()
    return fig
