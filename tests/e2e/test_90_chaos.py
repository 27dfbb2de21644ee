"""Chaos tier (`./scripts/test.sh chaos`, and after the e2e tests in `all`): faults an
operator meets, injected with `docker compose` into the running stack under a steady
prediction load. What must hold: DAG runs end in success, no MLflow run is left
RUNNING, at most one registered version per DAG run, no prediction fails, no row is
ingested twice, and a dead artifact store surfaces as a failed, retried try.

Each test appends its figures (requests answered, retries, seconds to recover) to
test-output/chaos.json; docs/measured.md quotes them.
"""

from __future__ import annotations

import time

import pytest
import requests

import mlflow
from e2e.load import CALLS, SteadyLoad
from e2e.stack import record_figures, repeated_raw_rows, scalar, wait_for

pytestmark = pytest.mark.chaos

MODEL = "covertype-classifier"
FIGURES = "chaos.json"


def record(name: str, figures: dict) -> None:
    record_figures(FIGURES, name, figures)


def wait_for_task(airflow, dag_id: str, run_id: str, task_id: str, states=("running",), timeout: float = 600) -> dict:
    def found():
        instances = airflow.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100}).json()["task_instances"]
        return next((t for t in instances if t["task_id"] == task_id and t["state"] in states), None)

    return wait_for(found, timeout=timeout, interval=1, message=f"{dag_id}.{task_id} in {states}")


def retries(airflow, dag_id: str, run_id: str) -> dict[str, int]:
    instances = airflow.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100}).json()["task_instances"]
    return {t["rendered_map_index"] or t["task_id"]: t["try_number"] - 1 for t in instances if t["try_number"] > 1}


def seconds_until(condition, timeout: float = 300) -> float:
    started = time.monotonic()
    wait_for(condition, timeout=timeout, interval=0.5, message="recovery")
    return round(time.monotonic() - started, 1)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def assert_training_left_no_mess(registry, dag_run_id: str, registered: dict) -> int:
    """No run of this DAG run left RUNNING, and at most one version registered for it (none when training skipped)."""
    runs = mlflow.search_runs(
        experiment_names=["covertype-training"], output_format="list", filter_string=f"tags.`airflow.run_id` = '{dag_run_id}'"
    )
    assert runs, f"no MLflow runs for {dag_run_id}"
    assert not [r.info.run_id for r in runs if r.info.status == "RUNNING"], "runs left RUNNING"
    ours = {r.info.run_id for r in runs}
    versions = [v.version for v in registry.search_model_versions(f"name = '{MODEL}'") if v.run_id in ours]
    assert len(versions) <= 1, versions
    if registered.get("version") is not None:
        assert versions == [str(registered["version"])], (versions, registered)
    return len(versions)


def test_mysql_restart_and_mlflow_outage_during_training(stack, airflow, registry, served):
    with SteadyLoad(stack.inference, CALLS) as load:
        run_id = airflow.trigger("covertype_train")
        wait_for_task(airflow, "covertype_train", run_id, "train_candidate")
        started = time.monotonic()
        stack.compose("restart", "mysql", check=True)
        mysql_back = seconds_until(lambda: answers(f"{stack.mlflow}/health"))
        stack.compose("stop", "mlflow", check=True)
        # Long enough for every candidate task to call MLflow while it is gone.
        time.sleep(45)
        stack.compose("start", "mlflow", check=True)
        mlflow_back = seconds_until(lambda: answers(f"{stack.mlflow}/health"))
        inference_ready = seconds_until(lambda: answers(f"{stack.inference}/ready"))
        fault_seconds = round(time.monotonic() - started, 1)
        run = airflow.wait_for_run("covertype_train", run_id, timeout=1200)
    assert run["state"] == "success", retries(airflow, "covertype_train", run_id)
    registered = airflow.xcom("covertype_train", run_id, "register_best") or {}
    versions = assert_training_left_no_mess(registry, run_id, registered)
    assert load.report.answered > 0 and load.report.failures == [], load.report.failures[:5]
    record(
        "mysql_restart_and_mlflow_outage_during_training",
        {
            "predictions_answered": load.report.answered,
            "predictions_failed": len(load.report.failures),
            "predictions_per_second": round(load.report.rate, 1),
            "task_retries": retries(airflow, "covertype_train", run_id),
            "seconds_mlflow_healthy_after_mysql_restart": mysql_back,
            "seconds_mlflow_healthy_after_start": mlflow_back,
            "seconds_inference_ready_after_mlflow": inference_ready,
            "fault_window_seconds": fault_seconds,
            "versions_registered": versions,
        },
    )


def test_data_api_restart_during_ingestion(stack, airflow, data_db, served):
    group = 7
    before = scalar(data_db, "SELECT COUNT(*) FROM covertype_raw WHERE group_number = %s", group)
    with SteadyLoad(stack.inference, CALLS) as load:
        stack.compose("stop", "data_api", check=True)
        run_id = airflow.trigger("covertype_ingest", conf={"group_number": group})
        # The fetch fails while data_api is away; the task waits for its retry.
        wait_for_task(airflow, "covertype_ingest", run_id, "ingest_raw", states=("up_for_retry",), timeout=300)
        stack.compose("start", "data_api", check=True)
        data_api_back = seconds_until(lambda: answers(f"{stack.data_api}/health"))
        run = airflow.wait_for_run("covertype_ingest", run_id, timeout=600)
    assert run["state"] == "success"
    served_batch = airflow.xcom("covertype_ingest", run_id, "ingest_raw")
    # Groups draw from one pool, so some rows may be stored already (under another group): those are duplicates.
    assert served_batch["batch_number"] == 1 and served_batch["inserted"] + served_batch["duplicates"] == served_batch["received"] > 0
    assert scalar(data_db, "SELECT COUNT(*) FROM covertype_raw WHERE group_number = %s", group) == before + served_batch["inserted"]
    # The retried fetch stored nothing twice.
    assert repeated_raw_rows(data_db) == []
    assert load.report.failures == [], load.report.failures[:5]
    record(
        "data_api_restart_during_ingestion",
        {
            "predictions_answered": load.report.answered,
            "predictions_failed": len(load.report.failures),
            "task_retries": retries(airflow, "covertype_ingest", run_id),
            "rows_received": served_batch["received"],
            "rows_inserted": served_batch["inserted"],
            "seconds_data_api_healthy_after_start": data_api_back,
        },
    )


def test_dead_artifact_store_fails_the_try_and_the_retry_finishes(stack, airflow, registry, served):
    # Only the winner's refit logs artifacts (model, confusion matrix); candidates log metrics.
    with SteadyLoad(stack.inference, CALLS) as load:
        run_id = airflow.trigger("covertype_train")
        wait_for_task(airflow, "covertype_train", run_id, "refit_best", timeout=900)
        # Paused, not stopped: the stand-in MinIO keeps its objects in memory.
        stack.compose("pause", "minio", check=True)
        paused = time.monotonic()
        try:
            # A dead store must surface as a failed try within minutes, not hang the task.
            wait_for_task(airflow, "covertype_train", run_id, "refit_best", states=("up_for_retry", "failed"), timeout=600)
            surfaced = round(time.monotonic() - paused, 1)
        finally:
            stack.compose("unpause", "minio", check=True)
        run = airflow.wait_for_run("covertype_train", run_id, timeout=1200)
    assert run["state"] == "success", retries(airflow, "covertype_train", run_id)
    assert retries(airflow, "covertype_train", run_id).get("refit_best", 0) >= 1
    registered = airflow.xcom("covertype_train", run_id, "register_best") or {}
    versions = assert_training_left_no_mess(registry, run_id, registered)
    if versions:
        tags = registry.get_model_version(MODEL, str(registered["version"])).tags
        # The version says how much of its grid it saw: nothing partial goes unmarked.
        assert tags.get("candidates_evaluated") == tags.get("candidates_total"), tags
    else:
        # Nothing registered: training said why (the data, grid and code of an existing version).
        assert registered.get("skipped", "").startswith("data, grid and code unchanged since version"), registered
    assert load.report.failures == [], load.report.failures[:5]
    record(
        "dead_artifact_store_during_refit",
        {
            "predictions_answered": load.report.answered,
            "predictions_failed": len(load.report.failures),
            "seconds_until_the_try_failed": surfaced,
            "task_retries": retries(airflow, "covertype_train", run_id),
            "versions_registered": versions,
        },
    )
