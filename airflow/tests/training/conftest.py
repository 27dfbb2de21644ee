"""Data and services shared by the training tests."""

from __future__ import annotations

import pandas as pd
import pytest
from training_helpers import covertype_frame

from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.training.data import snapshot_from_frame


@pytest.fixture(scope="session")
def penguins_clean() -> pd.DataFrame:
    """The real penguins data (shipped in the palmerpenguins package), validated like ingestion does."""
    from mlops_pipelines.sources import load_penguins_raw, penguins_to_features
    from mlops_pipelines.validation import validate

    return validate(penguins_to_features(load_penguins_raw()), PENGUINS).clean


@pytest.fixture(scope="session")
def penguins_snapshot(penguins_clean):
    return snapshot_from_frame(PENGUINS, penguins_clean, max_id=len(penguins_clean))


@pytest.fixture(scope="session")
def covertype_snapshot():
    return snapshot_from_frame(COVERTYPE, covertype_frame(), max_id=400)
