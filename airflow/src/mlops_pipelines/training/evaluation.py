"""The confusion-matrix figure of the chosen candidate's test split (the scores: mlops_pipelines.scoring)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix


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
