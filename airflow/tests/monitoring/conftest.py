"""Services shared by the monitoring tests (mlflow_uri: tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(mlflow_uri):
    from mlflow import MlflowClient

    return MlflowClient()
