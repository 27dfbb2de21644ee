"""Services shared by the monitoring tests: the real MLflow server of TEST_MLFLOW_URI."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def mlflow_uri():
    import mlflow

    uri = os.environ.get("TEST_MLFLOW_URI")
    if not uri:
        pytest.skip("TEST_MLFLOW_URI is not set (scripts/test.sh sets it)")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    # Artifacts through the server: its presigned URLs name MinIO inside the compose network.
    saved = os.environ.get("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD")
    os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"] = "false"
    yield uri
    mlflow.set_tracking_uri(previous)
    if saved is None:
        os.environ.pop("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", None)
    else:
        os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"] = saved


@pytest.fixture
def client(mlflow_uri):
    from mlflow import MlflowClient

    return MlflowClient()
