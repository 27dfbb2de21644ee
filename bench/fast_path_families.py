#!/usr/bin/env python3
"""One-row latency of inference's compiled path against the scikit-learn pipeline, per model family.

In process, no HTTP: the models are built by the training code (the default
grids' middle candidates, and penguins with the engineered features), fitted
on the penguins data and a sample of the Covertype file, compiled by
inference's fast_path (which checks the compiled probabilities against the
pipeline's), then each path predicts one row at a time.

    .venv/airflow/bin/python bench/fast_path_families.py [--covertype-rows 20000] [--repeat 2000]

Runs in the airflow venv (it has the training code's dependencies; fast_path
needs only numpy, pandas and scikit-learn, the same pins as inference).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from inference.fast_path import compile_pipeline, frame
from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.training.data import snapshot_from_frame, split
from mlops_pipelines.training.families import FAMILIES
from mlops_pipelines.training.pipelines import build_pipeline, for_single_rows
from mlops_pipelines.validation import validate

ROOT = Path(__file__).resolve().parents[1]

PARAMS = {
    "logistic_regression": {"C": 1.0, "class_weight": None},
    "svm": {"C": 1.0, "kernel": "rbf", "gamma": "scale"},
    "random_forest": {"n_estimators": 50, "max_depth": 16, "min_samples_leaf": 1},
}


def penguins() -> pd.DataFrame:
    from mlops_pipelines.sources import load_penguins_raw, penguins_to_features

    return validate(penguins_to_features(load_penguins_raw()), PENGUINS).clean


def covertype(rows: int) -> pd.DataFrame:
    path = os.environ.get("COVERTYPE_PATH", str(ROOT.parent / "shared" / "data" / "covertype.csv.gz"))
    raw = pd.read_csv(path, dtype=str, keep_default_na=False).sample(n=rows, random_state=42)
    return validate(raw, COVERTYPE).clean


def records(X: pd.DataFrame) -> list[dict]:
    """Rows as a JSON request gives them: Python scalars, None for missing."""
    rows = X.astype(object).where(X.notna(), None).to_dict("records")
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in rows]


def per_row_ms(predict, rows: list[dict], repeat: int) -> float:
    for row in rows[:20]:  # warm up
        predict([row])
    start = time.perf_counter()
    for i in range(repeat):
        predict([rows[i % len(rows)]])
    return (time.perf_counter() - start) / repeat * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--covertype-rows", type=int, default=5000, help="Covertype sample to fit on (an SVM on more takes minutes)")
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    cases = [(PENGUINS, penguins(), False), (PENGUINS, None, True), (COVERTYPE, covertype(args.covertype_rows), False)]
    print(f"{'dataset':<22} {'family':<20} {'compiled ms/row':>15} {'pipeline ms/row':>15} {'speed-up':>8}")
    data = None
    for contract, clean, engineered in cases:
        data = clean if clean is not None else data
        parts = split(snapshot_from_frame(contract, data), 0.2, 42)
        rows = records(parts.X_test)
        names = contract.feature_names
        for family, params in PARAMS.items():
            model = build_pipeline(contract, FAMILIES[family].make(params, 42), engineered)
            for_single_rows(model.fit(parts.X_train, parts.y_train))
            compiled = compile_pipeline(model, names, rows[:50])
            slow = per_row_ms(lambda r, model=model, names=names: model.predict_proba(frame(r, names)), rows, max(args.repeat // 10, 50))
            fast = per_row_ms(compiled.predict_proba, rows, args.repeat) if compiled else float("nan")
            label = contract.name + (" + engineered" if engineered else "")
            print(
                f"{label:<22} {family:<20} {fast:>15.3f} {slow:>15.3f} {slow / fast:>7.0f}x"
                + ("" if compiled else "  (not compiled: pipeline path)")
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
