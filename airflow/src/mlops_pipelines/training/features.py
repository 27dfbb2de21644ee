"""Engineered features: ratios computed inside the logged pipeline from the raw fields.

The penguin project's `bill_ratio = bill_length_mm / bill_depth_mm`,
`body_mass_kg = body_mass_g / 1000` and `mass_flipper_ratio = body_mass_g /
flipper_length_mm`. They are a step of the pipeline, so inference sends the raw
fields and cannot compute them differently from training.

Built from scikit-learn and numpy pieces only, not a class of our own: the
inference service loads models with skops, which rebuilds only types it is told
to trust and imports nothing from this package (the inference image does not
have it). A custom transformer would need its module shipped with the model
(MLflow `code_paths`), i.e. code run at load time, which skops is there to
avoid. So a ratio is written as `exp(log numerator - log denominator)`:

    impute (median) -> FunctionTransformer(np.log) -> FunctionTransformer(np.diff)
                    -> FunctionTransformer(np.exp) -> StandardScaler

with the denominator column first (np.diff takes right minus left) or, for a
constant denominator, `np.diff(..., prepend=log(constant))`. np.log and np.exp
are ufuncs skops trusts; np.diff is one more trusted name
(tracking.SKOPS_TRUSTED_TYPES). The result equals the plain division to about
1e-15 relative; every value is positive by the contract's ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mlops_pipelines.contracts import DatasetContract


@dataclass(frozen=True)
class Ratio:
    name: str
    numerator: str  # a feature of the contract
    denominator: str | float  # a feature of the contract, or a constant


ENGINEERED: dict[str, tuple[Ratio, ...]] = {
    "penguins": (
        Ratio("bill_ratio", "bill_length_mm", "bill_depth_mm"),
        Ratio("body_mass_kg", "body_mass_g", 1000.0),
        Ratio("mass_flipper_ratio", "body_mass_g", "flipper_length_mm"),
    ),
}


def has_engineered_features(contract: DatasetContract) -> bool:
    return bool(ENGINEERED.get(contract.name))


def engineered_transformers(contract: DatasetContract) -> list[tuple[str, object, list[str]]]:
    """ColumnTransformer entries, one per engineered feature of the contract."""
    import numpy as np
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    entries = []
    diff: dict[str, Any]
    for ratio in ENGINEERED.get(contract.name, ()):
        if isinstance(ratio.denominator, str):
            columns, diff = [ratio.denominator, ratio.numerator], {"axis": 1}
        else:
            columns, diff = [ratio.numerator], {"axis": 1, "prepend": math.log(ratio.denominator)}
        steps = Pipeline(
            [
                # The same imputation as the raw numeric features get.
                ("impute", SimpleImputer(strategy="median")),
                ("log", FunctionTransformer(np.log)),
                ("diff", FunctionTransformer(np.diff, kw_args=diff)),
                ("exp", FunctionTransformer(np.exp)),
                ("scale", StandardScaler()),
            ]
        )
        entries.append((ratio.name, steps, columns))
    return entries
