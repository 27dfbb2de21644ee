"""The compose file stands on its own: no .env, no variables, every service defined."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import ROOT

SERVICES = {
    "postgres", "mysql", "minio", "minio-init", "mlflow", "airflow-init", "airflow-apiserver", "airflow-scheduler",
    "airflow-dag-processor", "airflow-triggerer", "data_api", "inference", "ui",
}


@pytest.mark.parametrize("command", [["docker", "compose"], ["docker-compose"]], ids=["compose-v2", "docker-compose"])
def test_config_needs_no_env_file(command, tmp_path):
    if not shutil.which(command[0]):
        pytest.skip(f"{command[0]} is not installed")
    # No .env (an empty one instead of any the checkout has) and no platform variables set.
    empty = tmp_path / "empty.env"
    empty.write_text("")
    base = [*command, "--env-file", str(empty), "-f", str(ROOT / "docker-compose.yaml"), "config"]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_HOST")}
    result = subprocess.run([*base, "--services"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == SERVICES
    rendered = subprocess.run(base, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60).stdout
    assert "mysql:8.4.7" in rendered and "minio/minio:RELEASE.2025-09-07T16-13-09Z" in rendered
    assert "127.0.0.1" in rendered  # databases on localhost only
