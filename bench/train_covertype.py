#!/usr/bin/env python3
"""Cross-validate covertype_train's default grids on the Covertype file, outside Airflow and MLflow.

The same code path as the DAG's tasks (contract, validation, split,
pipelines, grids, stratified k-fold CV per candidate, refit and test score)
with the DAG's parallelism (two candidates at once, one core each), but no
orchestration or tracking: next to the DAG's wall time on the same rows, the
difference is what Airflow and MLflow add.

    .venv/airflow/bin/python bench/train_covertype.py [PATH] [--rows N] [--at-once K --cv-jobs J]
    .venv/airflow/bin/python bench/train_covertype.py --svm-rows 10000   # time one SVM fit, nothing else

PATH defaults to $COVERTYPE_PATH, then ../shared/data/covertype.csv.gz next to
the repository. --rows N trains on a seeded random sample of N rows instead.
For each family it prints every candidate's CV means, then its best
candidate (by the CV mean of the selection metric) refit on the whole training
split with its test scores and model size; the DAG refits and tests only the
overall winner, the bench every family's, to compare them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import skops.io

from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.orchestration.training_dag import candidates_at_once
from mlops_pipelines.training.candidates import build, cross_validate_candidate, refit_and_test
from mlops_pipelines.training.config import TrainingConfig
from mlops_pipelines.training.data import snapshot_from_frame, split
from mlops_pipelines.training.families import CV_N_JOBS, FAMILIES, REFIT_N_JOBS
from mlops_pipelines.training.grids import Candidate
from mlops_pipelines.training.pipelines import for_single_rows
from mlops_pipelines.training.selection import choose_best, cv_mean
from mlops_pipelines.validation import validate

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_PATH = ROOT.parent / "shared" / "data" / "covertype.csv.gz"
_PARTS = None  # each worker process's copy of the split


def load(path: Path, rows: int | None, seed: int) -> pd.DataFrame:
    # Read as text and validated like ingestion does, so the rows match a clean table's.
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    if rows:
        raw = raw.sample(n=min(rows, len(raw)), random_state=seed)
    result = validate(raw, COVERTYPE)
    if len(result.rejected):
        print(f"validation rejected {len(result.rejected)} rows")
    return result.clean


def _init(parts) -> None:
    global _PARTS
    _PARTS = parts


def _cross_validate(candidate: Candidate, folds: int, random_state: int, n_jobs: int):
    outcome = cross_validate_candidate(COVERTYPE, candidate, _PARTS.X_train, _PARTS.y_train, folds, random_state, n_jobs=n_jobs)
    error = f"{type(outcome.error).__name__}: {outcome.error}" if outcome.error else None
    return candidate, outcome.metrics, error


def svm_fit_time(parts, rows: int, config: TrainingConfig) -> None:
    """One fit of the default SVM grid's first rbf candidate on `rows` training rows (what one CV fold would do, smaller)."""
    candidate = Candidate("svm", 0, {"C": 1.0, "kernel": "rbf", "gamma": "scale"})
    sample = parts.X_train.sample(n=rows, random_state=config.random_state)
    model = build(COVERTYPE, candidate, config.random_state, False)
    start = time.perf_counter()
    model.fit(sample, parts.y_train.loc[sample.index])
    print(f"svm {candidate.params} with probability calibration: one fit on {rows} rows in {time.perf_counter() - start:.1f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=os.environ.get("COVERTYPE_PATH", str(DEFAULT_PATH)))
    parser.add_argument("--rows", type=int, default=None, help="train on a random sample of this many rows")
    parser.add_argument("--at-once", type=int, default=candidates_at_once(), help="candidates cross-validated at once")
    parser.add_argument("--cv-jobs", type=int, default=CV_N_JOBS, help="cores for one candidate's folds")
    parser.add_argument("--svm-rows", type=int, default=None, help="only time one SVM fit on this many training rows")
    args = parser.parse_args()

    config = TrainingConfig.for_contract(COVERTYPE)  # the DAG's default Params
    total_start = time.perf_counter()
    start = time.perf_counter()
    snapshot = snapshot_from_frame(COVERTYPE, load(Path(args.path), args.rows, config.random_state))
    parts = split(snapshot, config.test_size, config.random_state)
    print(
        f"data: {snapshot.rows} rows ({len(parts.X_train)} train / {len(parts.X_test)} test) "
        f"from {args.path}, loaded in {time.perf_counter() - start:.1f}s"
    )
    if args.svm_rows:
        svm_fit_time(parts, args.svm_rows, config)
        return 0

    candidates = config.candidates()
    print(f"{len(candidates)} candidates, {config.cv_folds} folds, {args.at_once} at once, {args.cv_jobs} core(s) each")
    start = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=args.at_once, initializer=_init, initargs=(parts,)) as pool:
        futures = [pool.submit(_cross_validate, c, config.cv_folds, config.random_state, args.cv_jobs) for c in candidates]
        for future in futures:  # in training order, which the tie-break relies on
            candidate, metrics, error = future.result()
            m = {k: round(v, 4) for k, v in metrics.items()}
            print(
                f"  {candidate.key} {candidate.params}: "
                + (
                    f"FAILED {error}"
                    if error
                    else f"cv accuracy {m['cv_accuracy_mean']} ±{m['cv_accuracy_std']}  f1_macro {m['cv_f1_macro_mean']} "
                    f"±{m['cv_f1_macro_std']}  log_loss {m['cv_log_loss_mean']}  {m['cv_time_s']}s"
                )
            )
            results.append(
                {
                    "candidate": candidate.key,
                    "family": candidate.family,
                    "params": candidate.params,
                    "status": "FAILED" if error else "FINISHED",
                    "metrics": metrics,
                }
            )
        # Before the pool shuts down: a worker that ran joblib's process pool (--cv-jobs 2) waits
        # for its idle workers to time out on exit, which is not training time.
        cv_wall = time.perf_counter() - start
    print(f"cross-validation of every candidate: {cv_wall:.1f}s wall")

    metric = config.selection_metric
    winner = choose_best(results, metric)
    print(
        f"\n{'family':<20} {'cand.':>5} {'best by CV':<22} {'cv f1':>7} {'cv acc':>7} {'test f1':>7} {'test acc':>8} "
        f"{'cv s':>6} {'refit s':>7} {'model MB':>8}"
    )
    refit_wall = 0.0
    for family in FAMILIES:
        mine = [r for r in results if r["family"] == family]
        if not mine:
            continue
        best = choose_best(mine, metric)
        cv_time = sum(r["metrics"].get("cv_time_s", 0.0) for r in mine)
        if best is None:
            print(f"{family:<20} {len(mine):>5} (all failed)")
            continue
        outcome = refit_and_test(
            COVERTYPE, Candidate(family, int(best["candidate"][-2:]), best["params"]), parts, config.random_state, n_jobs=REFIT_N_JOBS
        )
        if best is winner:
            refit_wall = outcome.metrics["refit_time_s"]
        size = len(skops.io.dumps(for_single_rows(outcome.model))) / 1e6
        b, t = best["metrics"], outcome.metrics
        print(
            f"{family:<20} {len(mine):>5} {best['candidate']:<22} {b[cv_mean('f1_macro')]:>7.4f} {b[cv_mean('accuracy')]:>7.4f} "
            f"{t['test_f1_macro']:>7.4f} {t['test_accuracy']:>8.4f} {cv_time:>6.1f} {t['refit_time_s']:>7.1f} {size:>8.2f}"
        )
    print(f"\nchosen: {winner['candidate'] if winner else None} (by {cv_mean(metric)}; ties by the CV log loss)")
    print(f"DAG-equivalent work: CV {cv_wall:.1f}s + winner refit {refit_wall:.1f}s = {cv_wall + refit_wall:.1f}s")
    print(f"total wall time (all families refit and tested): {time.perf_counter() - total_start:.1f}s")
    return 0 if winner and all(choose_best([r for r in results if r["family"] == f], metric) for f in {r["family"] for r in results}) else 1


if __name__ == "__main__":
    sys.exit(main())
