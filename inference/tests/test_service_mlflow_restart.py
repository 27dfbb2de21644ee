"""MLflow goes away and comes back: the service keeps answering and catches up by itself."""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest
from conftest import log_version, wait_until
from specs import PENGUIN_ROW, PENGUINS_SPEC

pytestmark = pytest.mark.mlflow


def compose(*args: str) -> None:
    base = os.environ.get("TEST_SERVICES_COMPOSE")
    if not base:
        pytest.skip("TEST_SERVICES_COMPOSE is not set (scripts/test.sh sets it to the compose command of the test services)")
    subprocess.run([*shlex.split(base), *args], check=True, capture_output=True, timeout=300)


def test_mlflow_stopped_then_started_again(registered, make_client):
    name = f"{registered['prefix']}-restart-classifier"
    log_version(name, PENGUINS_SPEC, "lr")
    log_version(name, PENGUINS_SPEC, "rf", seed=2)
    mlflow_client = registered["client"]
    mlflow_client.set_registered_model_alias(name, "production", "1")
    client = make_client(name)

    compose("stop", "mlflow")
    try:
        state = lambda: client.get("/ready").json()["models"][name]  # noqa: E731
        down = wait_until(lambda: state()["state"] == "registry_unreachable" and state(), timeout=60, message="registry_unreachable")
        assert "still serving version 1" in down["detail"]
        # The loaded model goes on answering while the registry is away.
        for _ in range(20):
            response = client.post(f"/models/{name}/predict", json=PENGUIN_ROW)
            assert response.status_code == 200 and response.json()["version"] == "1"
        assert client.get("/ready").status_code == 200
    finally:
        compose("start", "mlflow")

    wait_until(lambda: client.get("/ready").json()["models"][name]["state"] == "ready", timeout=120, message="ready again")
    mlflow_client.set_registered_model_alias(name, "production", "2")
    wait_until(
        lambda: client.post(f"/models/{name}/predict", json=PENGUIN_ROW).json()["version"] == "2",
        timeout=60,
        message="version 2 after the restart",
    )
