"""Functions the monitoring tests import (a module name no other test folder uses)."""

from __future__ import annotations

import uuid
from datetime import datetime

import numpy as np
import pandas as pd

from mlops_pipelines import ingestion, storage
from mlops_pipelines.contracts import COVERTYPE, WILDERNESS_AREAS, Numeric
from mlops_pipelines.sources import COVERTYPE_RAW_COLUMNS
from mlops_pipelines.training import tasks
from mlops_pipelines.training.config import TrainingConfig
from mlops_pipelines.training.data import read_snapshot, snapshot_max_id
from mlops_pipelines.training.grids import Candidate

SOILS = ("C7745", "C7746", "C7755", "C2703", "C4703")
FAST = {"logistic_regression": {"C": [1.0], "class_weight": [None]}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def covertype_rows(n: int = 400, seed: int = 0, elevation: tuple[int, int] = (1859, 3858)) -> pd.DataFrame:
    """Synthetic Covertype rows in the contract's domains; the class follows elevation (learnable)."""
    rng = np.random.default_rng(seed)
    data = {f.name: rng.integers(int(f.minimum), int(f.maximum) + 1, n) for f in COVERTYPE.features if isinstance(f, Numeric)}
    data["Elevation"] = rng.integers(elevation[0], elevation[1] + 1, n)
    data["Wilderness_Area"] = rng.choice(WILDERNESS_AREAS, n)
    data["Soil_Type"] = rng.choice(SOILS, n)
    data["Cover_Type"] = 1 + (data["Elevation"] - 1859) * 7 // 2000
    return pd.DataFrame(data)


def ingest(engine, frame: pd.DataFrame, group: int, batch: int, fetched_at: datetime) -> dict:
    """What covertype_ingest's first two tasks do with one fetch: raw rows in, validated into clean."""
    counts = storage.insert_raw(
        engine, COVERTYPE, frame[COVERTYPE_RAW_COLUMNS].astype(str), group_number=group, batch_number=batch, fetched_at=fetched_at
    )
    ingestion.validate_pending(engine, COVERTYPE)
    return {**counts, "group_number": group, "batch_number": batch, "fetched_at": fetched_at.isoformat()}


def train(engine, model_name: str, grids=FAST, **settings) -> dict:
    """One covertype_train run on the clean table (as the DAG's tasks do it) into `model_name`."""
    config = TrainingConfig.for_contract(
        COVERTYPE, experiment_name=f"{model_name}-training", model_name=model_name, grids=grids, **settings
    )
    snapshot = read_snapshot(engine, COVERTYPE, snapshot_max_id(engine, COVERTYPE))
    parent = tasks.prepare(COVERTYPE, snapshot, config, "covertype_train", unique("manual"), reason="manual")
    for candidate in tasks.list_candidates(config):
        tasks.train_candidate(COVERTYPE, Candidate.from_dict(candidate), snapshot, config, parent)
    tasks.refit_best(COVERTYPE, snapshot, config, parent)
    return tasks.register_best(COVERTYPE, snapshot, config, parent)
