"""End-to-end tier: drives the running compose stack through its real interfaces.

`scripts/test.sh e2e` builds and starts the stack, runs these tests and tears it
down. Addresses and logins come from the same variables docker-compose.yaml
reads, with the same defaults.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]

# MLflow needs a login: the suite acts as the admin (a person promoting), from the
# same variables as the compose file, with its defaults. MLflow's client reads these.
MLFLOW_ADMIN = (os.environ.get("MLFLOW_ADMIN_USER", "admin"), os.environ.get("MLFLOW_ADMIN_PASSWORD", "change-me-mlflow-admin"))
MLFLOW_READER = (os.environ.get("MLFLOW_READER_USER", "reader"), os.environ.get("MLFLOW_READER_PASSWORD", "change-me-mlflow-reader"))
MLFLOW_AIRFLOW = (os.environ.get("MLFLOW_AIRFLOW_USER", "airflow"), os.environ.get("MLFLOW_AIRFLOW_PASSWORD", "change-me-mlflow-airflow"))
os.environ.setdefault("MLFLOW_TRACKING_USERNAME", MLFLOW_ADMIN[0])
os.environ.setdefault("MLFLOW_TRACKING_PASSWORD", MLFLOW_ADMIN[1])


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
        """Run `docker compose` on the stack under test (project from COMPOSE_PROJECT_NAME;
        files from COMPOSE_FILE, as Compose reads it, when set: the scale tier adds
        docker-compose.scale.yaml)."""
        files = [] if os.environ.get("COMPOSE_FILE") else ["-f", str(ROOT / "docker-compose.yaml")]
        return subprocess.run(
            ["docker", "compose", *files, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
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


class AirflowClient:
    """The Airflow REST API (v2), as a user's script drives it."""

    def __init__(self, base: str, token: str):
        self.base = f"{base}/api/v2"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(f"{self.base}{path}", timeout=30, **kwargs)

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict:
        """The dag-processor parses DAG files shortly after start."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(f"/dags/{dag_id}")
            if response.status_code == 200:
                return response.json()
            assert time.monotonic() < deadline, f"DAG {dag_id} not parsed: {response.status_code} {response.text}"
            time.sleep(3)

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        self.wait_for_dag(dag_id)
        response = self.session.post(
            f"{self.base}/dags/{dag_id}/dagRuns",
            json={"logical_date": None, "conf": conf or {}},
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text
        return response.json()["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 900) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.get(f"/dags/{dag_id}/dagRuns/{run_id}").json()
            if run["state"] in ("success", "failed"):
                return run
            assert time.monotonic() < deadline, f"{dag_id} {run_id} still {run['state']} after {timeout}s"
            time.sleep(3)

    def run(self, dag_id: str, conf: dict | None = None, timeout: float = 900) -> dict:
        """Trigger a DAG run and wait for it; fail with the task states if it fails."""
        run = self.wait_for_run(dag_id, self.trigger(dag_id, conf), timeout)
        if run["state"] != "success":
            tasks = self.get(f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances").json()["task_instances"]
            pytest.fail(f"{dag_id} run {run['dag_run_id']} {run['state']}: " + ", ".join(f"{t['task_id']}={t['state']}" for t in tasks))
        return run

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}").json()["state"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
        response = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}", params={"deserialize": "true"})
        assert response.status_code == 200, response.text
        value = response.json()["value"]
        return json.loads(value) if isinstance(value, str) else value

    def runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", params={"limit": 100}).json()["dag_runs"]


@pytest.fixture(scope="session")
def airflow(stack: Stack, airflow_token: str) -> AirflowClient:
    return AirflowClient(stack.airflow, airflow_token)


@pytest.fixture(scope="session")
def registry(stack: Stack):
    """MLflow's client as the admin, with the process-wide URIs set too (mlflow.search_runs, pyfunc)."""
    import mlflow
    from mlflow import MlflowClient

    # Artifacts through the MLflow server (presigned URLs would name MinIO's
    # address inside the compose network).
    os.environ.setdefault("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    mlflow.set_tracking_uri(stack.mlflow)
    mlflow.set_registry_uri(stack.mlflow)
    return MlflowClient(tracking_uri=stack.mlflow, registry_uri=stack.mlflow)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright, launched by the UI's page object (ui/e2e/ui_page.py)."""
    import sys

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "ui" / "e2e"))
    import ui_page

    with sync_playwright() as p:
        browser = ui_page.launch_chromium(p)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def data_db():
    """The platform's MySQL data database, as the platform's own user sees it."""
    conn = pymysql.connect(
        host="127.0.0.1",
        port=int(os.environ.get("MYSQL_PORT", 3306)),
        user=os.environ.get("DATA_DB_USER", "mlops"),
        password=os.environ.get("DATA_DB_PASSWORD", "mlops"),
        database=os.environ.get("DATA_DB_NAME", "mlops_data"),
        autocommit=True,
    )
    yield conn
    conn.close()


def record_figures(filename: str, name: str, figures: dict) -> None:
    """Add a test's figures under `name` to test-output/<filename> (the README quotes them)."""
    path = Path(os.environ.get("TEST_OUTPUT_DIR", "test-output")) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    everything = json.loads(path.read_text()) if path.exists() else {}
    everything[name] = figures
    path.write_text(json.dumps(everything, indent=2))
    print(f"\n{name}: {json.dumps(figures)}")


@pytest.fixture(scope="module")
def served(stack, airflow, registry):
    """Both datasets have a production model (the e2e tests made them; a tier run alone makes them)."""
    for dataset in ("penguins", "covertype"):
        try:
            registry.get_model_version_by_alias(f"{dataset}-classifier", "production")
        except Exception:
            airflow.run(f"{dataset}_ingest")
            airflow.run(f"{dataset}_train")
    wait_for(lambda: requests.get(f"{stack.inference}/ready", timeout=10).status_code == 200, timeout=300, message="inference /ready")


def wait_for(condition, timeout: float = 120, interval: float = 1, message: str = "condition"):
    """Poll until `condition()` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {message}"
        time.sleep(interval)


def scalar(conn, sql: str, *args):
    with conn.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchone()[0]
