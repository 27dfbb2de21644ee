#!/usr/bin/env bash
# The two retention steps that need a service's own database password, run in
# that service's container (run it daily from the host's cron, after the
# platform_maintenance DAG; docs/retention.md):
#
# 1. `mlflow gc` in the mlflow container: removes for good (rows and MinIO
#    artifacts) the runs and logged models platform_maintenance soft-deleted
#    more than MLFLOW_GC_OLDER_THAN ago (default 1d: a day to restore one by
#    mistake, `mlflow runs restore`). Only the mlflow container has the MLflow
#    database password; Airflow's tasks do not get it.
# 2. `airflow db clean` in the scheduler container: Airflow's metadata rows
#    (DAG runs, task instances, XComs, logs table...) older than
#    AIRFLOW_LOGS_KEEP_DAYS. Airflow 3 blocks metadata-database access from
#    task code, so a DAG task cannot run it.
#
# Usage: scripts/retention.sh [all|mlflow|airflow]   (COMPOSE="docker compose -p NAME" for another project)
set -euo pipefail
cd "$(dirname "$0")/.."

COMPOSE=${COMPOSE:-docker compose}
GC_OLDER_THAN=${MLFLOW_GC_OLDER_THAN:-1d}
KEEP_DAYS=${AIRFLOW_LOGS_KEEP_DAYS:-30}
STEP=${1:-all}
case "$STEP" in all|mlflow|airflow) ;; *) echo "usage: $0 [all|mlflow|airflow]" >&2; exit 2 ;; esac

if [[ $STEP != airflow ]]; then
echo "retention: mlflow gc of what was deleted more than ${GC_OLDER_THAN} ago"
# shellcheck disable=SC2016 # expanded inside the container
$COMPOSE exec -T mlflow python - "$GC_OLDER_THAN" <<'PY'
import os, subprocess, sys
from start_server import mysql_uri  # the server's own URI builder (/app)

e = os.environ
backend = mysql_uri(e["MLFLOW_DB_USER"], e["MLFLOW_DB_PASSWORD"], e["MLFLOW_DB_HOST"], int(e["MLFLOW_DB_PORT"]), e["MLFLOW_DB_NAME"])
env = {
    **e,
    # gc resolves mlflow-artifacts:/ URIs to the bucket directly (the server's own MinIO credentials).
    "MLFLOW_TRACKING_URI": "http://localhost:5000",
    "MLFLOW_TRACKING_USERNAME": e["MLFLOW_ADMIN_USER"],
    "MLFLOW_TRACKING_PASSWORD": e["MLFLOW_ADMIN_PASSWORD"],
}
command = ["mlflow", "gc", "--backend-store-uri", backend, "--artifacts-destination", f"s3://{e['MLFLOW_ARTIFACTS_BUCKET']}/"]
if sys.argv[1] not in ("", "0", "0s"):
    command += ["--older-than", sys.argv[1]]
sys.exit(subprocess.run(command, env=env).returncode)
PY
fi

if [[ $STEP != mlflow ]]; then
before=$(date -u -d "-${KEEP_DAYS} days" +%Y-%m-%dT%H:%M:%S+00:00)
echo "retention: airflow db clean before ${before}"
$COMPOSE exec -T airflow-scheduler airflow db clean --clean-before-timestamp "$before" --skip-archive --yes
fi
