"""Small real scikit-learn pipelines shaped like the ones the training DAGs log."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def pipeline(spec: dict, classifier) -> Pipeline:
    numeric = [f["name"] for f in spec["features"] if f["kind"] == "numeric"]
    categorical = [f for f in spec["features"] if f["kind"] == "categorical"]
    transform = ColumnTransformer(
        [
            ("numeric", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("one_hot", OneHotEncoder(categories=[f["categories"] for f in categorical], handle_unknown="ignore")),
                    ]
                ),
                [f["name"] for f in categorical],
            ),
        ]
    )
    return Pipeline([("preprocess", transform), ("classifier", classifier)])


def synthetic(spec: dict, n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Rows within the spec's domains whose class depends on the first numeric feature."""
    rng = np.random.default_rng(seed)
    data = {}
    for f in spec["features"]:
        if f["kind"] == "numeric":
            values = rng.uniform(f["minimum"], f["maximum"], n)
            data[f["name"]] = np.round(values) if f["type"] == "integer" else values
        else:
            data[f["name"]] = rng.choice(f["categories"][:-1], n)  # the last category never seen in training
    frame = pd.DataFrame(data)
    first = next(f for f in spec["features"] if f["kind"] == "numeric")
    position = (frame[first["name"]] - first["minimum"]) / (first["maximum"] - first["minimum"])
    classes = spec["target"]["classes"]
    labels = [classes[min(int(p * len(classes)), len(classes) - 1)] for p in position]
    return frame, pd.Series(labels, name=spec["target"]["name"])


def fitted(spec: dict, kind: str = "lr", n: int = 300, seed: int = 0) -> Pipeline:
    X, y = synthetic(spec, n, seed)
    classifier = (
        LogisticRegression(max_iter=500) if kind == "lr" else RandomForestClassifier(n_estimators=25, max_depth=6, random_state=seed)
    )
    return pipeline(spec, classifier).fit(X, y)
