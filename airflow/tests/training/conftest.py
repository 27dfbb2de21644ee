"""Data and services shared by the training tests."""

from __future__ import annotations

import os

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


@pytest.fixture(scope="module")
def mlflow_uri():
    """The real MLflow server of TEST_MLFLOW_URI (MySQL backend, MinIO artifacts), as tracking URI."""
    import mlflow

    uri = os.environ.get("TEST_MLFLOW_URI")
    if not uri:
        pytest.skip("TEST_MLFLOW_URI is not set (scripts/test.sh sets it)")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    # The server hands out presigned URLs naming MinIO inside the compose
    # network; from the host, fetch artifacts through the server instead.
    saved = os.environ.get("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD")
    os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"] = "false"
    yield uri
    mlflow.set_tracking_uri(previous)
    if saved is None:
        os.environ.pop("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", None)
    else:
        os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"] = saved
