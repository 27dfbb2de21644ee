"""Pipelines of the two model options the compiled path gained: the SVM family and the
penguins' engineered features, built as airflow/src/mlops_pipelines/training does
(families._svm, features.engineered_transformers); the inference image has no
training code, so the shapes are repeated here."""

from __future__ import annotations

import math

import numpy as np
from models import pipeline, synthetic
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC

# name: (numerator, denominator column or constant)
PENGUIN_RATIOS = {
    "bill_ratio": ("bill_length_mm", "bill_depth_mm"),
    "body_mass_kg": ("body_mass_g", 1000.0),
    "mass_flipper_ratio": ("body_mass_g", "flipper_length_mm"),
}


def classifier(kind: str, seed: int = 0):
    if kind == "lr":
        return LogisticRegression(max_iter=500)
    if kind == "rf":
        return RandomForestClassifier(n_estimators=25, max_depth=6, random_state=seed)
    if kind == "svm":
        return CalibratedClassifierCV(SVC(C=1.0, kernel="rbf", random_state=seed), method="sigmoid", ensemble=False, cv=5)
    raise ValueError(kind)


def ratio_branch(numerator: str, denominator) -> tuple[Pipeline, list[str]]:
    """exp(log numerator - log denominator), as training writes a ratio with sklearn and numpy pieces only."""
    if isinstance(denominator, str):
        columns, diff = [denominator, numerator], {"axis": 1}
    else:
        columns, diff = [numerator], {"axis": 1, "prepend": math.log(denominator)}
    steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("log", FunctionTransformer(np.log)),
            ("diff", FunctionTransformer(np.diff, kw_args=diff)),
            ("exp", FunctionTransformer(np.exp)),
            ("scale", StandardScaler()),
        ]
    )
    return steps, columns


def fitted_option(spec: dict, kind: str, engineered: bool = False, n: int = 300, seed: int = 0) -> Pipeline:
    X, y = synthetic(spec, n, seed)
    model = pipeline(spec, classifier(kind, seed))
    if engineered:
        transform = model.named_steps["preprocess"]
        extra = [(name, *ratio_branch(*parts)) for name, parts in PENGUIN_RATIOS.items()]
        transform.set_params(transformers=[*transform.transformers, *extra])
    return model.fit(X, y)
