"""How often the drift check flags an unchanged distribution, and whether it still sees a real shift.

With the platform's own code (`mlops_pipelines.monitoring.drift.compare`, the
contract, the default RETRAIN_DRIFT_SHARE) on the Covertype file:

1. False alarms. Per draw, the file's rows are shuffled; the first 20,000 are
   the reference (the monitor's reference: at most 20,000 training rows) and the
   next N rows the window, disjoint from it. Both come from one distribution, so
   every flagged feature is a false alarm and every check whose drifted share
   exceeds RETRAIN_DRIFT_SHARE would be a false retraining. Each size is judged
   by the test alone (minimum rows lowered to the size) and by the checks as
   the platform runs them (DRIFT_MIN_ROWS: fewer rows, no feature compared).
2. A real shift. data_api's `elevation` order (batches of the rows sorted by
   Elevation, ties in the seed-42 shuffle: data_api/batches.py) cut into 10
   batches; per batch, windows of 500 rows sampled from it against a
   20,000-row reference from the rest of the file.
3. The e2e tier's situation (tests/e2e/test_07_monitoring.py): a model trained
   on two shuffled fetches (2 x ~1,055 rows), three fetches of elevation batch 1.

    .venv/airflow/bin/python bench/drift_false_alarms.py [--draws 200] [--sizes 30,50,100,500,5000] [--shift-rows 500]

The file comes from --path, $COVERTYPE_PATH, or ../shared/data/covertype.csv.gz
next to the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.monitoring import drift
from mlops_pipelines.monitoring.retrain import RetrainPolicy
from mlops_pipelines.settings import PipelineSettings

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_ROWS = 20_000  # drift_check.MAX_ROWS
DATA_API_SEED, DATA_API_BATCHES, DATA_API_FRACTION = 42, 10, 0.1  # data_api's defaults


def load(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"Soil_Type": str, "Wilderness_Area": str})
    return frame[COVERTYPE.feature_names]


def elevation_batches(frame: pd.DataFrame) -> list[np.ndarray]:
    """data_api's `elevation` cut (split_by_column): the seeded shuffle, stably sorted by Elevation, in 10 parts."""
    shuffled = np.random.default_rng(DATA_API_SEED).permutation(len(frame))
    ordered = shuffled[np.argsort(frame["Elevation"].to_numpy()[shuffled], kind="stable")]
    return np.array_split(ordered, DATA_API_BATCHES)


def check(reference: pd.DataFrame, current: pd.DataFrame, min_rows: int, share: float) -> tuple[list[drift.FeatureDrift], bool]:
    results = drift.compare(COVERTYPE, reference, current, min_rows=min_rows)
    # monitoring.retrain's drift reason: more than RETRAIN_DRIFT_SHARE of a source's compared features drifted.
    return results, bool(results) and drift.drifted_share(results) > share


def false_alarms(frame: pd.DataFrame, sizes: list[int], draws: int, min_rows: int, share: float) -> list[dict]:
    rng = np.random.default_rng(2026)
    n_features = len(COVERTYPE.features)
    rows = []
    for size in sizes:
        flagged = triggers = triggers_platform = psi_only = 0
        started = time.process_time()
        for _ in range(draws):
            order = rng.permutation(len(frame))
            reference = frame.iloc[order[:REFERENCE_ROWS]]
            current = frame.iloc[order[REFERENCE_ROWS : REFERENCE_ROWS + size]]
            results, fired = check(reference, current, min_rows=1, share=share)
            flagged += sum(r.drifted for r in results)
            triggers += fired
            triggers_platform += fired and size >= min_rows
            # The PSI thresholds alone, as the check judged before the tests (categories: unadjusted p < 0.05).
            psi_only += sum(r.psi > r.psi_threshold and (r.kind == "numeric" or r.p_value < 0.05) for r in results)
        rows.append(
            {
                "rows": size,
                "features flagged": flagged / (draws * n_features),
                "checks triggering a retrain (test alone)": triggers / draws,
                f"checks triggering a retrain (DRIFT_MIN_ROWS={min_rows})": triggers_platform / draws,
                "features over the PSI thresholds alone": psi_only / (draws * n_features),
                "CPU s": time.process_time() - started,
            }
        )
        print(f"  {size} rows: {rows[-1]['CPU s']:.0f} s CPU", file=sys.stderr, flush=True)
    return rows


def shift(frame: pd.DataFrame, size: int, draws: int, share: float) -> list[dict]:
    rng = np.random.default_rng(7)
    rows = []
    for number, batch in enumerate(elevation_batches(frame), start=1):
        rest = np.setdiff1d(np.arange(len(frame)), batch)
        elevation = triggers = flagged = 0
        for _ in range(draws):
            reference = frame.iloc[rng.choice(rest, REFERENCE_ROWS, replace=False)]
            current = frame.iloc[rng.choice(batch, size, replace=False)]
            results, fired = check(reference, current, min_rows=size, share=share)
            elevation += any(r.feature == "Elevation" and r.drifted for r in results)
            flagged += sum(r.drifted for r in results)
            triggers += fired
        low, high = frame["Elevation"].iloc[batch].min(), frame["Elevation"].iloc[batch].max()
        rows.append(
            {
                "elevation batch": number,
                "Elevation (m)": f"{low}-{high}",
                "Elevation flagged": elevation / draws,
                "features flagged": flagged / (draws * len(COVERTYPE.features)),
                "checks triggering a retrain": triggers / draws,
            }
        )
    return rows


def e2e_situation(frame: pd.DataFrame, draws: int, min_rows: int) -> dict:
    rng = np.random.default_rng(9)
    fetch = round(DATA_API_FRACTION * len(frame) / DATA_API_BATCHES)
    batch = elevation_batches(frame)[0]
    flagged = 0
    for _ in range(draws):
        reference = frame.iloc[rng.choice(len(frame), 2 * fetch, replace=False)]
        current = frame.iloc[np.concatenate([rng.choice(batch, fetch, replace=False) for _ in range(3)])]
        results = drift.compare(COVERTYPE, reference, current, min_rows=min_rows)
        flagged += any(r.feature == "Elevation" and r.drifted for r in results)
    return {"reference rows": 2 * fetch, "window rows": 3 * fetch, "Elevation flagged": flagged / draws}


def main() -> None:
    default_path = os.environ.get("COVERTYPE_PATH", str(ROOT.parent / "shared" / "data" / "covertype.csv.gz"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=default_path)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--sizes", default="30,50,100,500,5000")
    parser.add_argument("--shift-rows", type=int, default=500)
    parser.add_argument("--shift-draws", type=int, default=100, help="draws per elevation batch")
    args = parser.parse_args()

    settings = PipelineSettings()
    share = RetrainPolicy.from_settings(settings).drift_share
    min_rows = settings.drift_min_rows
    frame = load(args.path)
    started = time.process_time()
    print(
        f"{len(frame):,} rows, {len(COVERTYPE.features)} features; reference {REFERENCE_ROWS:,} rows; {args.draws} draws per size; "
        f"retrain when more than {share:.0%} of the features drift; BH at {drift.FALSE_DISCOVERY_RATE}; DRIFT_MIN_ROWS={min_rows}\n"
    )
    print("Same distribution (every flag is a false alarm):")
    table = false_alarms(frame, [int(s) for s in args.sizes.split(",")], args.draws, min_rows, share)
    print(pd.DataFrame(table).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"\nElevation-ordered source, {args.shift_rows} rows per window, {args.shift_draws} draws per batch:")
    print(pd.DataFrame(shift(frame, args.shift_rows, args.shift_draws, share)).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\nThe e2e tier's check (test_07_monitoring: trained on 2 shuffled fetches, 3 fetches of elevation batch 1):")
    print(e2e_situation(frame, args.shift_draws, min_rows))
    print(f"\nCPU {time.process_time() - started:.0f} s")


if __name__ == "__main__":
    main()
