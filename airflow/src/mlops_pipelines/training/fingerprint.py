"""What decides a trained model, as tags on its registered version: data, grid and code.

A training run whose three equal the latest version's would register the same
model again (training is seeded), so it registers nothing (tasks.register_best).

- data: the snapshot's digest (`data.digest`, data.Snapshot.digest).
- grid: every candidate with its parameters, and the settings that change
  what is trained or chosen (split, seed, folds, selection metric, features);
  not the promotion settings, which do not change the model.
- code: a hash of the source of the training package and of the dataset
  contracts, plus the scikit-learn version. The image carries no git commit
  (src/ is mounted into the containers), so the hash of the files actually
  imported is the honest identity of the code; any edit to them, even a
  comment, counts as new code.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from mlops_pipelines.mlflow_names import CODE_VERSION, DATA_DIGEST, GRID_DIGEST
from mlops_pipelines.training.config import TrainingConfig

_PACKAGE = Path(__file__).resolve().parents[1]  # mlops_pipelines/
_CODE_FILES = ("training/*.py", "contracts.py", "mlflow_names.py", "mlflow_helpers.py", "scoring.py", "splitting.py")


def grid_digest(config: TrainingConfig) -> str:
    grid = {
        "candidates": [[c.key, c.params] for c in config.candidates()],
        "test_size": config.test_size,
        "random_state": config.random_state,
        "cv_folds": config.cv_folds,
        "selection_metric": config.selection_metric,
        "engineered_features": config.engineered_features,
    }
    return hashlib.sha256(json.dumps(grid, sort_keys=True, default=str).encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def code_version() -> str:
    """`src-<sha256 of the training sources, 12 hex>+sklearn-<version>`."""
    import sklearn

    digest = hashlib.sha256()
    for pattern in _CODE_FILES:
        for path in sorted(_PACKAGE.glob(pattern)):
            digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"src-{digest.hexdigest()[:12]}+sklearn-{sklearn.__version__}"


def fingerprint(data_digest: str, config: TrainingConfig) -> dict[str, str]:
    return {DATA_DIGEST: data_digest, GRID_DIGEST: grid_digest(config), CODE_VERSION: code_version()}


def unchanged(latest_tags: dict[str, str], current: dict[str, str]) -> bool:
    """True when a version's tags carry the same data, grid and code (a version from before these tags: never)."""
    return all(latest_tags.get(key) == value for key, value in current.items())
