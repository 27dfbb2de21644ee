#!/bin/bash
# Entrypoint of every Airflow container: the secrets airflow-init generated
# (unless .env gives them), then the command.
set -euo pipefail
# shellcheck source=secrets.sh
source /opt/airflow/scripts/secrets.sh
export_secrets
exec "$@"
