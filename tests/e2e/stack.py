"""The stack under test and how to drive it: addresses and logins (from the variables
docker-compose.yaml reads, with its defaults), Airflow's REST API, waits, MySQL reads."""

from __future__ import annotations

import json
import os
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
# Figures, screenshots and logs of a run (scripts/test.sh sets it).
OUTPUT = Path(os.environ.get("TEST_OUTPUT_DIR", ROOT / "test-output"))

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


def url(port_var: str, default: int) -> str:
    return f"http://localhost:{os.environ.get(port_var, default)}"


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


def record_figures(filename: str, name: str, figures: dict) -> None:
    """Add a test's figures under `name` to test-output/<filename> (docs/measured.md quotes them)."""
    path = OUTPUT / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    everything = json.loads(path.read_text()) if path.exists() else {}
    everything[name] = figures
    path.write_text(json.dumps(everything, indent=2))
    print(f"\n{name}: {json.dumps(figures)}")


def wait_until(fetch, accept=bool, timeout: float = 120, interval: float = 1, message: str = "condition"):
    """Poll `fetch()` until `accept(value)`; return the value.

    Wait for exactly what the test asserts next: at the deadline the message names
    what was awaited and the last value fetched says what was missing.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if accept(value):
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {message}; last seen: {value!r}"
        time.sleep(interval)


def wait_for(condition, timeout: float = 120, interval: float = 1, message: str = "condition"):
    """Poll until `condition()` is truthy; return its value."""
    return wait_until(condition, bool, timeout=timeout, interval=interval, message=message)


def scalar(conn, sql: str, *args):
    with conn.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchone()[0]


def covertype_columns() -> list[str]:
    """The 13 delivered values of a Covertype row, from the contract's feature spec."""
    spec = json.loads((ROOT / "contract" / "specs" / "covertype.json").read_text())
    return [feature["name"] for feature in spec["features"]] + [spec["target"]["name"]]


def repeated_raw_rows(conn) -> list[tuple]:
    """Covertype rows stored more than once, compared by their delivered values (not by the
    fingerprint the schema makes unique, so a fingerprint that stopped identifying a row shows here)."""
    columns = ", ".join(f"`{c}`" for c in covertype_columns())
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {columns}, COUNT(*) FROM covertype_raw GROUP BY {columns} HAVING COUNT(*) > 1 LIMIT 5")
        return list(cursor.fetchall())


def aliases(registry, name: str) -> dict[str, str]:
    """`name`'s aliases and the version each names. From the registered model: MLflow's
    `search_model_versions` leaves aliases out of the versions it returns."""
    return {alias: str(version) for alias, version in registry.get_registered_model(name).aliases.items()}


def register_again(registry, name: str, version) -> str:
    """A new version of `name` from `version`'s model and tags, as a person registers one to
    promote; returned once MLflow has it READY."""
    import mlflow

    added = mlflow.register_model(version.source, name, tags=version.tags)
    wait_until(
        lambda: registry.get_model_version(name, added.version).status,
        lambda status: status == "READY",
        timeout=60,
        message=f"{name} version {added.version} READY",
    )
    return str(added.version)


@contextmanager
def covertype_monitoring_tab(browser, stack: Stack):
    """The UI's Monitoring tab for Covertype in a new page, refreshed (not what an earlier visit cached)."""
    from ui.page import UiPage

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        ui = UiPage(page, stack.ui, timeout_ms=120_000)
        ui.open()
        ui.choose_dataset("covertype")
        ui.open_tab("Monitoring")
        ui.refresh_monitoring()
        yield ui
    finally:
        page.close()
