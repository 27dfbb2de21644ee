"""Shared fixtures: small synthetic Covertype frames, a fake clock, an app client."""

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from data_api.dataset import COLUMNS, SOIL_TYPES, WILDERNESS_AREAS
from data_api.main import create_app
from data_api.settings import Settings


class FakeClock:
    """Epoch-seconds clock that only moves when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_frame(n_rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """Synthetic rows in the 13-column format; Elevation is a unique row id."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {c: rng.integers(0, 500, n_rows) for c in COLUMNS[:10]}
    data["Elevation"] = np.arange(2000, 2000 + n_rows)
    data["Vertical_Distance_To_Hydrology"] = rng.integers(-100, 100, n_rows)
    data["Wilderness_Area"] = rng.choice(WILDERNESS_AREAS, n_rows)
    data["Soil_Type"] = rng.choice(SOIL_TYPES, n_rows)
    data["Cover_Type"] = rng.integers(1, 8, n_rows)
    return pd.DataFrame(data, columns=list(COLUMNS))


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture
def data_file(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "data" / "covertype.csv.gz"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path, data_file: Path) -> Settings:
    # 200 rows / 5 batches = 40 rows per batch; 25 % -> 10 rows per sample.
    return Settings(
        data_path=data_file,
        state_dir=tmp_path / "state",
        seed=7,
        n_batches=5,
        n_groups=3,
        batch_interval_seconds=60,
        sample_fraction=0.25,
        # Most API tests pin the clock mode's timing; the per_call tests ask for it.
        advance="clock",
    )


@pytest.fixture
def make_client(settings: Settings, clock: FakeClock) -> Iterator[Callable[..., TestClient]]:
    """Start apps (lifespan included); all are shut down at the end of the test."""
    clients: list[TestClient] = []

    def _make(settings: Settings = settings, clock: FakeClock = clock) -> TestClient:
        client = TestClient(create_app(settings=settings, clock=clock))
        client.__enter__()
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
