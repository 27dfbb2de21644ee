"""Functions the training tests import (a module name no other test folder uses)."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from mlops_pipelines.contracts import COVERTYPE, SOIL_CODES, WILDERNESS_AREAS, Numeric


def covertype_frame(n: int = 400, seed: int = 0, soils=tuple(s for s in SOIL_CODES if s != "C5151")) -> pd.DataFrame:
    """Synthetic Covertype rows inside the contract's domains; the class follows elevation.

    By default no row has soil C5151, like the real sample.
    """
    rng = np.random.default_rng(seed)
    data = {f.name: rng.integers(int(f.minimum), int(f.maximum) + 1, n) for f in COVERTYPE.features if isinstance(f, Numeric)}
    data["Wilderness_Area"] = rng.choice(WILDERNESS_AREAS, n)
    data["Soil_Type"] = rng.choice(list(soils), n)
    data["Cover_Type"] = 1 + (data["Elevation"] - 1859) * 7 // 2000
    return pd.DataFrame(data)


def unique(prefix: str) -> str:
    """A name no other test (or earlier run against the same server) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
