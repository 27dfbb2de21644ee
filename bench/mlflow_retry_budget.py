"""How long an MLflow client call takes to give up on a dead server: the platform's retry
budget for Airflow's tasks (docker-compose.yaml) against MLflow's defaults, in one run.

Both calls go to an address nothing listens on (connection refused at once), so
the time is the retries' backoff alone; a hung server adds up to
MLFLOW_HTTP_REQUEST_TIMEOUT per attempt on top.

    .venv/airflow/bin/python bench/mlflow_retry_budget.py
"""

from __future__ import annotations

import os
import subprocess
import sys

DEAD = "http://127.0.0.1:9"
PROBE = f"""
import time
from mlflow import MlflowClient
start = time.monotonic()
try:
    MlflowClient("{DEAD}").search_experiments()
except Exception:
    pass
print(f"{{time.monotonic() - start:.1f}}")
"""
BUDGETS = {
    "platform (5 retries, backoff 2, timeout 30 s)": {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "5",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "2",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    },
    "MLflow defaults (7 retries, backoff 2, timeout 120 s)": {},
}


def main() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_HTTP_REQUEST_")}
    # Both at once: the wait is sleeping, not CPU.
    running = {
        name: subprocess.Popen([sys.executable, "-c", PROBE], env={**base, **env}, stdout=subprocess.PIPE, text=True)
        for name, env in BUDGETS.items()
    }
    seconds = {name: float(p.communicate()[0].strip()) for name, p in running.items()}
    for name, value in seconds.items():
        print(f"{name}: gave up after {value:.1f} s")
    platform, default = seconds.values()
    print(f"ratio (MLflow defaults / platform): {default / platform:.1f}x")


if __name__ == "__main__":
    main()
