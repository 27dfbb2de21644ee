#!/usr/bin/env python3
"""One Covertype row through the compiled path's plain-Python forest, against another commit's.

In process, no HTTP: the bench's forest (50 trees, depth 16, the training code's
pipeline) fitted on a sample of the Covertype file, compiled by this checkout's
inference/fast_path.py and, with --against, by that commit's copy of it. Both
must give the same probabilities on every test row; their one-row times are
taken in turns (the fastest round of each), so a busy machine slows both alike.

    .venv/airflow/bin/python bench/forest_row.py [--rows 30000] [--against next] [--rounds 6]

Runs in the airflow venv, like fast_path_families.py.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import subprocess
import sys
import tempfile
import timeit
import tracemalloc
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
# This checkout's fast_path, not an installed copy from another checkout.
sys.path.insert(0, str(ROOT / "inference"))

from fast_path_families import PARAMS, covertype, records  # noqa: E402

from inference import fast_path  # noqa: E402
from mlops_pipelines.contracts import COVERTYPE  # noqa: E402
from mlops_pipelines.training.data import snapshot_from_frame, split  # noqa: E402
from mlops_pipelines.training.families import FAMILIES  # noqa: E402
from mlops_pipelines.training.pipelines import build_pipeline, for_single_rows  # noqa: E402


def fast_path_at(rev: str) -> ModuleType:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:inference/inference/fast_path.py"], check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "fast_path_then.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("fast_path_then", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def forest_row_mb(module: ModuleType, forest) -> float:
    gc.collect()
    tracemalloc.start()
    row = module._ForestRow(forest)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del row
    return size / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30000, help="Covertype sample to fit on")
    parser.add_argument("--against", help="a commit whose fast_path.py to time in turns with this one")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    parts = split(snapshot_from_frame(COVERTYPE, covertype(args.rows)), 0.2, 42)
    model = build_pipeline(COVERTYPE, FAMILIES["random_forest"].make(PARAMS["random_forest"], 42), False)
    forest = for_single_rows(model.fit(parts.X_train, parts.y_train)).steps[-1][1]
    rows, names = records(parts.X_test), COVERTYPE.feature_names
    modules = {"this checkout": fast_path}
    if args.against:
        modules[args.against] = fast_path_at(args.against)
    print(f"{fast_path.__file__}: {sum(e.tree_.node_count for e in forest.estimators_):,} nodes")
    compiled = {}
    for label, module in modules.items():
        compiled[label] = module.compile_pipeline(model, names, rows[:50])
        assert compiled[label] is not None, f"{label}: not compiled"
        print(f"{label}: the one-row forest holds {forest_row_mb(module, forest):.1f} MB")
    reference = [compiled["this checkout"].probabilities([row]) for row in rows]
    for label, c in compiled.items():
        assert [c.probabilities([row]) for row in rows] == reference, f"{label} differs"
    print(f"the same probabilities on {len(rows):,} test rows")
    sample = rows[:200]
    best: dict[str, list[float]] = {label: [] for label in compiled}
    for _ in range(args.rounds):
        for label, c in compiled.items():

            def one_pass(c=c) -> None:
                for row in sample:
                    c.probabilities([row])

            best[label].append(min(timeit.repeat(one_pass, number=5, repeat=5)) / (5 * len(sample)) * 1e6)
    base = min(best["this checkout"])
    for label, times in best.items():
        print(f"{label:<16} {min(times):6.1f} µs a row (fastest of {args.rounds} rounds; ratio to this checkout {min(times) / base:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
