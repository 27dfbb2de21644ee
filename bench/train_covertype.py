#!/usr/bin/env python3
"""Train covertype_train's default grids on the full Covertype file, outside Airflow and MLflow.

The same code path as the DAG (contract, validation, split, pipelines, grids,
scores) without orchestration or tracking, so comparing its wall time with the
DAG's shows what Airflow and MLflow add.

    .venv/airflow/bin/python bench/train_covertype.py [PATH] [--rows N]

PATH defaults to $COVERTYPE_PATH, then ../shared/data/covertype.csv.gz next to
the repository. --rows N trains on a seeded random sample of N rows instead
(e.g. 3165, about three data_api fetches, for the CI-sized figures).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "airflow" / "src"))

import pandas as pd  # noqa: E402
import skops.io  # noqa: E402

from mlops_pipelines.contracts import COVERTYPE  # noqa: E402
from mlops_pipelines.training.candidates import fit_grid  # noqa: E402
from mlops_pipelines.training.config import TrainingConfig  # noqa: E402
from mlops_pipelines.training.data import snapshot_from_frame, split  # noqa: E402
from mlops_pipelines.training.pipelines import for_single_rows  # noqa: E402
from mlops_pipelines.training.selection import choose_best  # noqa: E402
from mlops_pipelines.validation import validate  # noqa: E402

DEFAULT_PATH = ROOT.parent / "shared" / "data" / "covertype.csv.gz"


def load(path: Path, rows: int | None, seed: int) -> pd.DataFrame:
    # Read as text and validated like ingestion does, so the rows match a clean table's.
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    if rows:
        raw = raw.sample(n=min(rows, len(raw)), random_state=seed)
    result = validate(raw, COVERTYPE)
    if len(result.rejected):
        print(f"validation rejected {len(result.rejected)} rows")
    return result.clean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=os.environ.get("COVERTYPE_PATH", str(DEFAULT_PATH)))
    parser.add_argument("--rows", type=int, default=None, help="train on a random sample of this many rows")
    args = parser.parse_args()

    config = TrainingConfig.for_contract(COVERTYPE)  # the DAG's default Params
    total_start = time.perf_counter()
    start = time.perf_counter()
    snapshot = snapshot_from_frame(COVERTYPE, load(Path(args.path), args.rows, config.random_state))
    parts = split(snapshot, config.test_size, config.random_state)
    print(f"data: {snapshot.rows} rows ({len(parts.X_train)} train / {len(parts.X_test)} test) "
          f"from {args.path}, loaded in {time.perf_counter() - start:.1f}s")

    summary = []
    for family, grid in config.grids.items():
        start, results, sizes, measuring = time.perf_counter(), [], {}, 0.0
        for outcome in fit_grid(COVERTYPE, family, grid, parts, config.random_state):
            key = outcome.candidate.key
            if not outcome.ok:
                print(f"  {key} {outcome.candidate.params}: FAILED {type(outcome.error).__name__}: {outcome.error}")
                results.append({"candidate": key, "status": "FAILED", "metrics": {}})
                continue
            # What the DAG logs (MLflow's model.skops), set to predict single-threaded;
            # not counted in the wall time (the DAG's upload is MLflow's share).
            measure_start = time.perf_counter()
            sizes[key] = len(skops.io.dumps(for_single_rows(outcome.model)))
            measuring += time.perf_counter() - measure_start
            m = outcome.metrics
            print(f"  {key} {outcome.candidate.params}: accuracy {m['accuracy']:.4f}  f1_macro {m['f1_macro']:.4f}  "
                  f"log_loss {m['log_loss']:.4f}  fit {m['fit_time_s']:.1f}s  model {sizes[key] / 1e6:.2f} MB")
            results.append({"candidate": key, "status": "FINISHED", "metrics": m})
        elapsed = time.perf_counter() - start - measuring
        best = choose_best(results, config.selection_metric)
        summary.append((family, len(results), best, elapsed, sizes.get(best["candidate"]) if best else None))

    print(f"\n{'family':<20} {'candidates':>10} {'best':<24} {'accuracy':>8} {'f1_macro':>8} {'wall s':>7} {'model MB':>8}")
    for family, n, best, elapsed, size in summary:
        if best is None:
            print(f"{family:<20} {n:>10} {'(all failed)':<24} {'':>8} {'':>8} {elapsed:>7.1f}")
            continue
        m = best["metrics"]
        print(f"{family:<20} {n:>10} {best['candidate']:<24} {m['accuracy']:>8.4f} {m['f1_macro']:>8.4f} {elapsed:>7.1f} {size / 1e6:>8.2f}")
    print(f"total wall time: {time.perf_counter() - total_start:.1f}s")
    return 0 if all(best for _, _, best, _, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
