"""End-to-end tier: drives the running compose stack through its real interfaces.

`scripts/test.sh e2e` builds and starts the stack, runs these tests and tears it
down. Addresses and logins come from the same variables docker-compose.yaml
reads, with the same defaults.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Stack:
    airflow: str
    mlflow: str
    minio: str
    data_api: str
    inference: str
    ui: str
    airflow_user: str
    airflow_password: str
    minio_user: str
    minio_password: str
    artifacts_bucket: str

    def compose(self, *args: str, timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess:
        """Run `docker compose` on the stack under test (project from COMPOSE_PROJECT_NAME)."""
        return subprocess.run(
            ["docker", "compose", "-f", str(ROOT / "docker-compose.yaml"), *args],
            capture_output=True, text=True, timeout=timeout, check=check,
        )


def _url(port_var: str, default: int) -> str:
    return f"http://localhost:{os.environ.get(port_var, default)}"


@pytest.fixture(scope="session")
def stack() -> Stack:
    return Stack(
        airflow=_url("AIRFLOW_PORT", 8080),
        mlflow=_url("MLFLOW_PORT", 5000),
        minio=_url("MINIO_API_PORT", 9000),
        data_api=_url("DATA_API_PORT", 8000),
        inference=_url("INFERENCE_PORT", 8989),
        ui=_url("UI_PORT", 8503),
        airflow_user=os.environ.get("AIRFLOW_ADMIN_USER", "admin"),
        airflow_password=os.environ.get("AIRFLOW_ADMIN_PASSWORD", "admin"),
        minio_user=os.environ.get("MINIO_ROOT_USER", "minioadmin"),
        minio_password=os.environ.get("MINIO_ROOT_PASSWORD", "change-me-minio"),
        artifacts_bucket=os.environ.get("MLFLOW_ARTIFACTS_BUCKET", "mlflow"),
    )


@pytest.fixture(scope="session")
def airflow_token(stack: Stack) -> str:
    """A REST API token for the admin login, as a script would get one."""
    response = requests.post(
        f"{stack.airflow}/auth/token",
        json={"username": stack.airflow_user, "password": stack.airflow_password},
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()["access_token"]
