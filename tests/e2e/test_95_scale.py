"""Scale tier (`./scripts/test.sh scale`, and last in `all`): the scale-out profile,
docker-compose.scale.yaml on top of the default file, with two Airflow Celery
workers and three inference replicas behind the `lb` load balancer.

What must hold: the tasks of one training run are executed by both workers; a
replica killed under a steady load and started again costs no request; a
promotion is served by every replica; Prometheus scrapes each replica and each
replica's predictions reach the prediction log. Figures go to test-output/scale.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
import requests

from e2e.load import CALLS, PENGUIN, SteadyLoad
from e2e.stack import record_figures, register_again, scalar, wait_for, wait_until

pytestmark = pytest.mark.scale

WORKERS = int(os.environ.get("E2E_AIRFLOW_WORKERS", 2))
REPLICAS = int(os.environ.get("E2E_INFERENCE_REPLICAS", 3))
PROMETHEUS = f"http://localhost:{os.environ.get('PROMETHEUS_PORT', 9090)}"
PENGUINS = "penguins-classifier"


def record(name: str, figures: dict) -> None:
    record_figures("scale.json", name, figures)


def containers(stack, service: str) -> list[str]:
    """Names of the service's running containers, in replica order."""
    out = stack.compose("ps", "--format", "json", service, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return sorted((r["Name"] for r in rows if r["State"] == "running"), key=lambda n: int(n.rsplit("-", 1)[1]))


def docker(*args: str, timeout: float = 120) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=True).stdout


def replica_get(container: str, path: str) -> str:
    """GET a path of one replica from inside it (replicas publish no port, only lb does);
    the body whatever the status (/ready answers 503 until its models are loaded)."""
    code = (
        "import urllib.request, urllib.error, sys\n"
        f"try: body = urllib.request.urlopen('http://localhost:8989{path}', timeout=5).read()\n"
        "except urllib.error.HTTPError as e: body = e.read()\n"
        "sys.stdout.write(body.decode())"
    )
    return docker("exec", container, "python", "-c", code)


def replica_ready(container: str) -> dict:
    return json.loads(replica_get(container, "/ready"))


def metric(text: str, name: str) -> float:
    """Sum of a metric's samples over its labels in Prometheus text format."""
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


@pytest.fixture(scope="module")
def profile(stack):
    """The profile is up: the replicas and workers asked for, healthy."""
    assert len(containers(stack, "inference")) == REPLICAS
    assert len(containers(stack, "airflow-worker")) == WORKERS
    return stack


def test_the_profile_is_celery_with_workers_and_replicas_behind_lb(profile):
    stack = profile
    scheduler = containers(stack, "airflow-scheduler")[0]
    assert docker("exec", scheduler, "airflow", "config", "get-value", "core", "executor").strip() == "CeleryExecutor"
    rendered = json.loads(stack.compose("config", "--format", "json", check=True).stdout)
    # Only the load balancer publishes inference's port; the broker is not published.
    assert not rendered["services"]["inference"].get("ports")
    assert [p["published"] for p in rendered["services"]["lb"]["ports"]] == [os.environ.get("INFERENCE_PORT", "8989")]
    assert not rendered["services"]["redis"].get("ports")
    # Every worker answers Celery's ping (its healthcheck) and runs as a non-root user.
    for worker in containers(stack, "airflow-worker"):
        assert docker("inspect", "--format", "{{.State.Health.Status}}", worker).strip() == "healthy"
        assert docker("exec", worker, "id", "-u").strip() != "0"

    # Prometheus finds every replica by DNS and scrapes each.
    def inference_targets():
        up = requests.get(f"{PROMETHEUS}/api/v1/query", params={"query": 'up{job="inference"} == 1'}, timeout=10).json()
        return sorted(r["metric"]["instance"] for r in up["data"]["result"])

    wait_until(
        inference_targets,
        lambda up: len(up) == REPLICAS,
        timeout=90,
        interval=3,
        message=f"Prometheus scraping {REPLICAS} inference replicas",
    )


def test_two_workers_execute_the_tasks_of_one_training_run(profile, airflow, data_db):
    stack = profile
    if not scalar(data_db, "SELECT COUNT(*) FROM penguins_clean"):
        airflow.run("penguins_ingest")
    started = time.monotonic()
    run = airflow.run("penguins_train")
    seconds = time.monotonic() - started
    instances = airflow.get(f"/dags/penguins_train/dagRuns/{run['dag_run_id']}/taskInstances", params={"limit": 100}).json()[
        "task_instances"
    ]
    hostnames = {t["hostname"] for t in instances if t["state"] == "success"}
    workers = {docker("inspect", "--format", "{{.Config.Hostname}}", w).strip() for w in containers(stack, "airflow-worker")}
    per_worker = {h: sum(1 for t in instances if t["hostname"] == h) for h in sorted(hostnames)}
    record("training_on_workers", {"dag_run": run["dag_run_id"], "seconds": round(seconds, 1), "tasks_per_worker": per_worker})
    # Tasks run on the workers only, and on every one of them.
    assert hostnames == workers, (hostnames, workers)


def test_a_replica_killed_under_load_costs_no_request(profile, served):
    stack = profile
    replicas = containers(stack, "inference")
    victim = replicas[1]
    before = {c: metric(replica_get(c, "/metrics"), "inference_predictions_total") for c in replicas}
    with SteadyLoad(stack.inference, CALLS, clients=4) as load:
        time.sleep(10)
        docker("kill", victim)
        killed_at = time.monotonic()
        time.sleep(10)
        docker("start", victim)

        # Back in service once the load balancer has put it back and it has answered predictions.
        def serving_again():
            try:
                return metric(replica_get(victim, "/metrics"), "inference_predictions_total") > 0
            except Exception:
                return False

        wait_for(serving_again, timeout=120, interval=1, message=f"{victim} serving again")
        back_after = time.monotonic() - killed_at
        time.sleep(5)
    after = {c: metric(replica_get(c, "/metrics"), "inference_predictions_total") for c in replicas}
    # Every replica records what it predicts (its log writer flushes about a second after answering).
    logged = wait_until(
        lambda: {c: metric(replica_get(c, "/metrics"), "predictions_logged_total") for c in replicas},
        lambda seen: all(rows > 0 for rows in seen.values()),
        timeout=30,
        message="every replica's predictions_logged_total above 0",
    )
    record(
        "replica_killed_under_load",
        {
            "replicas": REPLICAS,
            "answered": load.report.answered,
            "failed": len(load.report.failures),
            "seconds": round(load.report.seconds, 1),
            "victim_back_in_service_after_s": round(back_after, 1),
            # The victim's counter restarted with it: what it served after coming back.
            "predictions_per_replica_during_test": {c: after[c] - (0 if c == victim else before[c]) for c in replicas},
            "logged_rows_per_replica_since_start": logged,
        },
    )
    assert load.report.failures == [], load.report.failures[:5]
    assert load.report.answered > 200
    # Every replica took a share of the load, and every one records what it predicts.
    for c in replicas:
        assert after[c] - (0 if c == victim else before[c]) > 0, c


def test_a_promotion_is_served_by_every_replica(profile, served, registry):
    stack = profile
    production = registry.get_model_version_by_alias(PENGUINS, "production")
    # A person promotes another version: here a new version of the same model.
    promoted = registry.get_model_version(PENGUINS, register_again(registry, PENGUINS, production))
    registry.set_registered_model_alias(PENGUINS, "production", promoted.version)
    started = time.monotonic()
    try:
        replicas = containers(stack, "inference")
        wait_until(
            lambda: {c: replica_ready(c)["models"][PENGUINS]["version"] for c in replicas},
            lambda serving: set(serving.values()) == {promoted.version},
            timeout=120,
            interval=0.2,
            message=f"every replica serving {PENGUINS} version {promoted.version}",
        )
        seconds = time.monotonic() - started
        # One replica received MLflow's webhook; the move is in the history once, and the
        # others followed it there (each replica's poll alone would record it as "poll").
        history = requests.get(f"{stack.inference}/models/{PENGUINS}/history", timeout=10).json()["moves"]
        assert (history[0]["from_version"], history[0]["to_version"], history[0]["path"]) == (
            production.version,
            promoted.version,
            "webhook",
        )
        assert history[1]["to_version"] != promoted.version
        # Through the load balancer every answer now names the promoted version.
        versions = {
            requests.post(f"{stack.inference}/predict/penguins", json=PENGUIN, timeout=10).json()["version"] for _ in range(3 * REPLICAS)
        }
        record("promotion", {"replicas": REPLICAS, "version": promoted.version, "served_by_all_after_s": round(seconds, 1)})
        assert versions == {promoted.version}
    finally:
        registry.set_registered_model_alias(PENGUINS, "production", production.version)
