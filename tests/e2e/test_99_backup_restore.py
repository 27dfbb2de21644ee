"""Backup, wipe, restore: scripts/backup.sh on the running stack, `docker compose down -v`,
a fresh `up --wait` on empty volumes, scripts/restore.sh, then the platform is the one
that was backed up: the same experiments, runs, registered versions and aliases, the
same served versions, the same rows, every registered model loadable, Airflow's DAG
run history and its encrypted variables readable.

It wipes the stack under test, so it runs last in the tier (hence its number) and
leaves a restored, working stack behind for the tier's teardown.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pandas as pd
import pymysql
import pytest
import requests

import mlflow
from e2e.stack import MLFLOW_ADMIN, OUTPUT, ROOT, AirflowClient, wait_for, wait_until

MODELS = ("penguins-classifier", "covertype-classifier")
MYSQL_DATABASES = tuple(
    os.environ.get(var, default)
    for var, default in (("MLFLOW_DB_NAME", "mlflow"), ("MLFLOW_AUTH_DB_NAME", "mlflow_auth"), ("DATA_DB_NAME", "mlops_data"))
)
VARIABLE = "backup_restore_check"
TIMINGS = OUTPUT / "backup-restore.json"


def normalized(value):
    """Lists in a canonical order: the same rows may come back in another order."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((normalized(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


class Mlflow:
    """MLflow's REST API as the admin."""

    def __init__(self, base: str):
        self.base = f"{base}/api/2.0/mlflow"
        self.session = requests.Session()
        self.session.auth = MLFLOW_ADMIN

    def pages(self, path: str, key: str, body: dict, method: str = "post") -> list[dict]:
        items, token = [], None
        while True:
            args = {**body, **({"page_token": token} if token else {})}
            if method == "post":
                response = self.session.post(f"{self.base}/{path}", json=args, timeout=60)
            else:
                response = self.session.get(f"{self.base}/{path}", params=args, timeout=60)
            assert response.status_code == 200, response.text
            data = response.json()
            items += data.get(key, [])
            token = data.get("next_page_token")
            if not token:
                return items

    def state(self) -> dict:
        experiments = self.pages("experiments/search", "experiments", {"max_results": 1000, "view_type": "ALL"})
        ids = [e["experiment_id"] for e in experiments]
        runs = self.pages("runs/search", "runs", {"experiment_ids": ids, "max_results": 1000, "run_view_type": "ALL"})
        models = self.pages("registered-models/search", "registered_models", {"max_results": 1000}, method="get")
        versions = self.pages("model-versions/search", "model_versions", {"max_results": 10000}, method="get")
        return {
            "experiments": normalized(experiments),
            "runs": {r["info"]["run_id"]: normalized(r) for r in runs},
            "registered_models": {m["name"]: normalized(m) for m in models},
            "versions": {f"{v['name']}/{v['version']}": normalized(v) for v in versions},
            "aliases": {m["name"]: {a["alias"]: a["version"] for a in m.get("aliases", [])} for m in models},
        }


def mysql_rows() -> dict[str, int]:
    """Rows per table of every platform database, as root sees them."""
    conn = pymysql.connect(
        host="127.0.0.1",
        port=int(os.environ.get("MYSQL_PORT", 3306)),
        user="root",
        password=os.environ.get("MYSQL_ROOT_PASSWORD", "change-me-mysql-root"),
        autocommit=True,
    )
    rows = {}
    with conn, conn.cursor() as cursor:
        for db in MYSQL_DATABASES:
            cursor.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'", (db,))
            for (table,) in cursor.fetchall():
                cursor.execute(f"SELECT COUNT(*) FROM `{db}`.`{table}`")
                rows[f"{db}.{table}"] = cursor.fetchone()[0]
    return rows


def models(stack) -> list[dict]:
    response = requests.get(f"{stack.inference}/models", timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["models"]


def served(stack) -> dict:
    return {m["name"]: {"production": m["production_version"], "aliases": m["aliases"]} for m in models(stack)}


def dag_runs(airflow: AirflowClient) -> dict:
    runs: dict = {}
    while True:
        response = airflow.get("/dags/~/dagRuns", params={"limit": 100, "offset": len(runs), "order_by": "id"})
        assert response.status_code == 200, response.text
        page = response.json()
        runs |= {(r["dag_id"], r["dag_run_id"]): r["state"] for r in page["dag_runs"]}
        if not page["dag_runs"] or len(runs) >= page["total_entries"]:
            return runs


def quiet(airflow: AirflowClient) -> bool:
    """No DAG run queued or running (a slow API answer counts as not yet)."""
    try:
        return all(state in ("success", "failed") for state in dag_runs(airflow).values())
    except requests.RequestException:
        return False


def data_api_state(stack) -> dict:
    out = stack.compose("exec", "-T", "data_api", "cat", "/var/lib/data_api/state.json", check=True).stdout
    return json.loads(out)


def script(*args: str, timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run([str(ROOT / "scripts" / args[0]), *args[1:]], capture_output=True, text=True, timeout=timeout)
    return done, time.monotonic() - start


def login(stack) -> AirflowClient:
    """A new token: the restored stack signs with the restored JWT secret."""

    def token():
        response = requests.post(
            f"{stack.airflow}/auth/token", json={"username": stack.airflow_user, "password": stack.airflow_password}, timeout=30
        )
        return response.status_code in (200, 201) and response.json()["access_token"]

    return AirflowClient(stack.airflow, wait_for(token, timeout=300, interval=3, message="an Airflow token"))


@pytest.fixture(scope="module")
def restored(stack, airflow, tmp_path_factory):
    """Everything observed before, the archive's manifest, and the timings; the stack restored."""
    registry = Mlflow(stack.mlflow)
    # Something to restore: a production model at least (the tier's training tests leave more).
    # A quiet platform, so that what is observed before is what is backed up.
    wait_for(lambda: quiet(airflow), timeout=1800, interval=10, message="every DAG run to finish")
    if not served(stack)["penguins-classifier"]["production"]:
        airflow.run("penguins_train")
    # data_api's progress (the tier's ingestion tests leave some; alone, one call makes it).
    if stack.compose("exec", "-T", "data_api", "test", "-f", "/var/lib/data_api/state.json").returncode != 0:
        assert requests.get(f"{stack.data_api}/data", params={"group_number": 1}, timeout=120).status_code == 200
    # An Airflow variable is stored encrypted with the installation's Fernet key.
    secret = f"restored-{time.time_ns()}"
    airflow.session.delete(f"{airflow.base}/variables/{VARIABLE}", timeout=30)
    response = airflow.session.post(f"{airflow.base}/variables", json={"key": VARIABLE, "value": secret}, timeout=30)
    assert response.status_code in (200, 201), response.text

    before = {
        "mlflow": registry.state(),
        "served": served(stack),
        "rows": mysql_rows(),
        "dag_runs": dag_runs(airflow),
        "data_api": data_api_state(stack),
    }
    assert before["mlflow"]["versions"] and before["served"]["penguins-classifier"]["production"], before["served"]

    out = tmp_path_factory.mktemp("backup")
    backup, backup_seconds = script("backup.sh", str(out), timeout=900)
    assert backup.returncode == 0, backup.stderr
    archive = Path(backup.stdout.strip().splitlines()[-1])
    print(f"\nbackup.sh: {backup_seconds:.1f}s, {archive.stat().st_size} bytes", flush=True)
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/manifest.json"))
        manifest = json.load(tar.extractfile(member))

    # The platform is wiped and created afresh, as on a new machine.
    wipe = stack.compose("down", "-v", "--remove-orphans", timeout=600)
    assert wipe.returncode == 0, wipe.stderr
    start = time.monotonic()
    up = stack.compose("up", "-d", "--wait", "--wait-timeout", "900", timeout=1200)
    assert up.returncode == 0, up.stderr
    up_seconds = time.monotonic() - start
    print(f"fresh up --wait: {up_seconds:.1f}s", flush=True)

    # A corrupted archive is refused before anything is touched.
    tampered = out / "tampered.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name.endswith(".sql") and "/mysql/" in member.name and data:
                data = data.replace(b"INSERT INTO", b"INSERT IGNORE INTO", 1)
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    refused, _ = script("restore.sh", str(tampered), timeout=600)
    assert refused.returncode != 0 and "does not match its manifest" in refused.stderr, refused.stderr

    restore, restore_seconds = script("restore.sh", str(archive), timeout=1500)
    assert restore.returncode == 0, restore.stdout + restore.stderr

    timings = {
        "backup_seconds": round(backup_seconds, 1),
        "archive_bytes": archive.stat().st_size,
        "fresh_up_seconds": round(up_seconds, 1),
        "restore_seconds": round(restore_seconds, 1),
        "mysql_rows": sum(sum(t.values()) for t in manifest["mysql"]["rows"].values()),
        "postgres_rows": sum(sum(t.values()) for t in manifest["postgres"]["rows"].values()),
        "objects": manifest["objects"]["count"],
        "object_bytes": manifest["objects"]["bytes"],
    }
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps(timings, indent=2) + "\n")
    print(f"\nbackup/restore: {timings}")
    return {"before": before, "manifest": manifest, "secret": secret, "restore_log": restore.stderr}


def test_the_manifest_describes_the_archive(restored):
    manifest = restored["manifest"]
    rows = manifest["mysql"]["rows"]
    assert set(MYSQL_DATABASES) <= set(rows), rows.keys()
    # Deleted versions stay as rows (stage Deleted_Internal), hence >=.
    assert rows[MYSQL_DATABASES[0]]["model_versions"] >= len(restored["before"]["mlflow"]["versions"]) > 0
    assert manifest["objects"]["count"] > 0 and manifest["objects"]["bytes"] > 0
    assert manifest["postgres"]["rows"]["airflow"]["public.dag_run"] >= len(restored["before"]["dag_runs"])
    assert {"data_api", "mlflow", "airflow-scheduler", "mysql"} <= set(manifest["images"])
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())
    assert "MISMATCH" not in restored["restore_log"]


def test_mlflow_has_the_same_experiments_runs_versions_and_aliases(stack, restored):
    before, after = restored["before"]["mlflow"], Mlflow(stack.mlflow).state()
    assert after["experiments"] == before["experiments"]
    assert after["runs"].keys() == before["runs"].keys()
    assert after["runs"] == before["runs"]
    assert after["versions"] == before["versions"]
    assert after["registered_models"] == before["registered_models"]
    assert after["aliases"] == before["aliases"] and after["aliases"]["penguins-classifier"]["production"]


def test_inference_serves_the_same_versions(stack, restored):
    before = restored["before"]["served"]
    wait_until(lambda: served(stack), lambda seen: seen == before, timeout=120, interval=3, message=f"inference to serve {before}")
    # Each production model loaded (its artifacts came back with the restore).
    wait_for(
        lambda: all(m["status"]["state"] == "ready" for m in models(stack) if m["production_version"]),
        timeout=180,
        interval=3,
        message="inference to load every production model",
    )
    for name, seen in before.items():
        if seen["production"]:
            detail = requests.get(f"{stack.inference}/models/{name}", timeout=120)
            assert detail.status_code == 200 and str(detail.json()["version"]) == str(seen["production"]), detail.text


def test_mysql_has_the_same_rows(restored):
    # MLflow's webhook to inference is registered anew at every start with the installation's
    # secret (mlflow/start_server.py): the restored stack adds its own registration and deliveries.
    registered_at_start = {f"{MYSQL_DATABASES[0]}.webhooks", f"{MYSQL_DATABASES[0]}.webhook_events"}

    def restored_data(rows: dict[str, int]) -> dict[str, int]:
        return {k: n for k, n in rows.items() if k not in registered_at_start}

    after = mysql_rows()
    assert restored_data(after) == restored_data(restored["before"]["rows"])
    expected = {f"{db}.{table}": n for db, tables in restored["manifest"]["mysql"]["rows"].items() for table, n in tables.items()}
    assert {k: after[k] for k in restored_data(expected)} == restored_data(expected)
    assert after[f"{MYSQL_DATABASES[0]}.webhooks"] >= 1, "the restored MLflow registered no webhook to inference"


def test_every_registered_version_loads_and_predicts(stack, restored):
    os.environ.setdefault("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    mlflow.set_tracking_uri(stack.mlflow)
    mlflow.set_registry_uri(stack.mlflow)
    versions = sorted(restored["before"]["mlflow"]["versions"])
    assert versions
    for key in versions:
        name, version = key.split("/")
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
        example = model.input_example
        frame = example if isinstance(example, pd.DataFrame) else pd.DataFrame(example)
        assert len(model.predict(frame)) == len(frame), key


def test_airflow_has_its_dag_run_history_and_reads_its_encrypted_variable(stack, restored):
    airflow = login(stack)
    before = restored["before"]["dag_runs"]
    after = dag_runs(airflow)
    assert before and {k: after.get(k) for k in before} == before
    # Readable only with the backed-up Fernet key (the fresh stack had generated another).
    variable = airflow.get(f"/variables/{VARIABLE}")
    assert variable.status_code == 200 and variable.json()["value"] == restored["secret"], variable.text


def test_data_api_continues_where_it_was(stack, restored):
    assert data_api_state(stack) == restored["before"]["data_api"]
