"""PLATFORM_ENV=production: inference does not start open to anyone unless told it is meant to be."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from inference.main import create_app
from inference.settings import ProductionRefusal, Settings, check_production

# Nothing listens there: an app that does start must not wait for a registry.
NOWHERE = dict(mlflow_tracking_uri="http://127.0.0.1:9", startup_load_seconds=0, prediction_log="off", webhook_secret="a-secret")


def test_production_without_keys_refuses_to_start_naming_the_way_out():
    app = create_app(Settings(platform_env="production", api_keys="", **NOWHERE))
    with pytest.raises(ProductionRefusal, match="no INFERENCE_API_KEYS.*INFERENCE_PUBLIC=1"), TestClient(app):
        pass


@pytest.mark.parametrize("extra", [{"api_keys": "k-one"}, {"public": True}])
def test_production_starts_with_keys_or_when_declared_public(extra):
    with TestClient(create_app(Settings(platform_env="production", **{**NOWHERE, **extra}))) as client:
        assert client.get("/health").status_code == 200


def test_outside_production_an_open_service_starts():
    check_production(Settings(platform_env="", api_keys="", **NOWHERE))


def test_the_process_exits_with_the_reason_in_its_log():
    """As compose starts it: uvicorn, settings from the environment, PLATFORM_ENV=production and no keys."""
    env = {**os.environ, "PLATFORM_ENV": "production", "INFERENCE_API_KEYS": "", "INFERENCE_PUBLIC": "0", "PREDICTION_LOG": "off"}
    env["INFERENCE_MLFLOW_TRACKING_URI"] = "http://127.0.0.1:9"
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "inference.main:app", "--port", "0"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0, result.stderr
    assert "refusing to start: PLATFORM_ENV=production and no INFERENCE_API_KEYS" in result.stderr
