#!/usr/bin/env python3
"""CV scores of penguins_train's default candidates without and with the engineered features.

The same code as the DAG's train_candidate (split, stratified 5-fold CV on the
training split), no Airflow or MLflow. In the DAG each candidate run logs
`engineered_features`, so MLflow's compare view shows the same per run.

    .venv/airflow/bin/python bench/penguins_engineered_features.py
"""

from __future__ import annotations

import sys
import time
import warnings

from mlops_pipelines.contracts import PENGUINS
from mlops_pipelines.sources import load_penguins_raw, penguins_to_features
from mlops_pipelines.training.candidates import cross_validate_candidate
from mlops_pipelines.training.config import TrainingConfig
from mlops_pipelines.training.data import snapshot_from_frame, split
from mlops_pipelines.validation import validate


def main() -> int:
    warnings.filterwarnings("ignore", category=FutureWarning)
    config = TrainingConfig.for_contract(PENGUINS)
    snapshot = snapshot_from_frame(PENGUINS, validate(penguins_to_features(load_penguins_raw()), PENGUINS).clean)
    parts = split(snapshot, config.test_size, config.random_state)
    start = time.perf_counter()
    print(f"{'candidate':<22} {'params':<60} {'cv f1_macro':>17} {'cv accuracy':>17} {'cv log_loss':>17}")
    for candidate in config.candidates():
        off, on = (
            cross_validate_candidate(
                PENGUINS, candidate, parts.X_train, parts.y_train, config.cv_folds, config.random_state, engineered
            ).metrics
            for engineered in (False, True)
        )
        cells = [f"{off[f'cv_{m}_mean']:.4f} -> {on[f'cv_{m}_mean']:.4f}" for m in ("f1_macro", "accuracy", "log_loss")]
        print(f"{candidate.key:<22} {str(candidate.params):<60} " + " ".join(f"{c:>17}" for c in cells))
    print(f"{time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
