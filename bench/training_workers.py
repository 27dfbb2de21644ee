"""Training DAG wall time per number of Celery workers, in one run, on the scale-out profile.

    # the scale-out profile, up, with both datasets ingested (docs/scaling.md):
    docker compose -f docker-compose.yaml -f docker-compose.scale.yaml up -d --wait --scale airflow-worker=2 --scale inference=3
    .venv/e2e/bin/python bench/training_workers.py [--workers 1 2] [--dags penguins_train covertype_train]

For each worker count N it scales `airflow-worker` to N and sets
TRAINING_CANDIDATES_AT_ONCE to the task slots the workers offer together
(N x AIRFLOW_WORKER_CONCURRENCY, 2 each by default; `--at-once` fixes it instead),
which recreates the Airflow services; it waits until the DAG is parsed again (with that
cap), then triggers each DAG through the REST API and waits for it. Prints each
run's wall time (the DAG run's start to end), the sum of its task durations, and
how many task instances each worker ran. The rows trained on are what the
profile's tables hold (printed). Every worker shares this machine's cores: the
figures say what more workers buy on it, not on more machines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime

import requests

# Run as a script, bench/ is on the import path.
from scale_profile import compose


def running(service: str) -> int:
    rows = [json.loads(line) for line in compose("ps", "--format", "json", service).splitlines() if line.strip()]
    return sum(1 for r in rows if r["State"] == "running")


class Airflow:
    def __init__(self, base: str, user: str, password: str):
        self.base = f"{base}/api/v2"
        self.login = (base, user, password)
        self.session = requests.Session()

    def _token(self) -> None:
        base, user, password = self.login
        deadline = time.monotonic() + 300
        while True:
            try:
                response = requests.post(f"{base}/auth/token", json={"username": user, "password": password}, timeout=10)
                if response.ok:
                    self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                sys.exit("the Airflow api-server does not give a token")
            time.sleep(3)

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        for _ in range(2):
            if "Authorization" not in self.session.headers:
                self._token()
            response = self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)
            if response.status_code != 401:
                return response
            del self.session.headers["Authorization"]
        return response


def wait_for_parse(airflow: Airflow, dag_id: str, since: datetime) -> None:
    """Until the (recreated) dag-processor has parsed the DAG again, with the new cap."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        response = airflow.call("GET", f"/dags/{dag_id}/details")
        parsed = response.json().get("last_parsed_time") if response.ok else None
        if parsed and datetime.fromisoformat(parsed) > since:
            return
        time.sleep(3)
    sys.exit(f"{dag_id} was not parsed again since {since}")


def run(airflow: Airflow, dag_id: str) -> dict:
    response = airflow.call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": {}})
    response.raise_for_status()
    run_id = response.json()["dag_run_id"]
    while True:
        dag_run = airflow.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json()
        if dag_run["state"] in ("success", "failed"):
            break
        time.sleep(2)
    instances = airflow.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 200}).json()["task_instances"]
    wall = datetime.fromisoformat(dag_run["end_date"]) - datetime.fromisoformat(dag_run["start_date"])
    hosts: dict[str, int] = {}
    for t in instances:
        hosts[t["hostname"]] = hosts.get(t["hostname"], 0) + 1
    return {
        "state": dag_run["state"],
        "wall": wall.total_seconds(),
        "task_seconds": sum(t["duration"] or 0 for t in instances),
        "tasks": len(instances),
        "per_worker": sorted(hosts.values(), reverse=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--airflow", default=f"http://localhost:{os.environ.get('AIRFLOW_PORT', 8080)}")
    parser.add_argument("--user", default=os.environ.get("AIRFLOW_ADMIN_USER", "admin"))
    parser.add_argument("--password", default=os.environ.get("AIRFLOW_ADMIN_PASSWORD", "admin"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dags", nargs="+", default=["penguins_train", "covertype_train"])
    parser.add_argument("--slots-per-worker", type=int, default=int(os.environ.get("AIRFLOW_WORKER_CONCURRENCY", 2)))
    parser.add_argument("--at-once", type=int, help="TRAINING_CANDIDATES_AT_ONCE for every count (default: the workers' slots)")
    args = parser.parse_args()

    airflow = Airflow(args.airflow, args.user, args.password)
    replicas = running("inference")
    rows = {
        table: compose(
            "exec", "-T", "mysql", "sh", "-c", f'mysql -N -uroot -p"$MYSQL_ROOT_PASSWORD" -e "SELECT COUNT(*) FROM mlops_data.{table}"'
        ).strip()
        for table in ("penguins_clean", "covertype_clean")
    }
    print(f"{os.cpu_count()} cores; clean rows {rows}; {args.slots_per_worker} task slots per worker\n")
    results = {}
    for workers in args.workers:
        at_once = args.at_once or workers * args.slots_per_worker
        env = {"TRAINING_CANDIDATES_AT_ONCE": str(at_once), "AIRFLOW_WORKER_CONCURRENCY": str(args.slots_per_worker)}
        since = datetime.now(UTC)
        compose("up", "-d", "--wait", "--scale", f"airflow-worker={workers}", "--scale", f"inference={replicas}", env=env)
        airflow.session.headers.pop("Authorization", None)
        for dag_id in args.dags:
            wait_for_parse(airflow, dag_id, since)
            r = results[(workers, dag_id)] = run(airflow, dag_id)
            print(
                f"{workers} worker(s), {at_once} candidates at once | {dag_id:>16} | {r['state']} | wall {r['wall']:6.1f} s"
                f" | task time {r['task_seconds']:6.1f} s in {r['tasks']} tasks | tasks per worker {r['per_worker']}",
                flush=True,
            )
    first = args.workers[0]
    print(f"\nwall time as a ratio of {first} worker(s):")
    for dag_id in args.dags:
        print(
            f"  {dag_id:>16}  "
            + ", ".join(f"{n}: {results[(n, dag_id)]['wall'] / results[(first, dag_id)]['wall']:.2f}" for n in args.workers)
        )


if __name__ == "__main__":
    main()
