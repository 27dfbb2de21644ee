#!/usr/bin/env bash
# Writes .env with a fresh random value for every secret of the platform, so that
# going from a laptop to a shared machine is one command:
#
#   ./scripts/make-env.sh            write .env (an existing .env is left alone)
#   ./scripts/make-env.sh --force    replace it
#
# The database passwords are set in the volumes on their first start: for an
# existing installation, start from empty volumes (docker compose down -v) or
# change the passwords in the databases as well.
#
# It also sets PLATFORM_ENV=production, so no service starts with a published
# default. Every other setting keeps its default (see .env.example).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ENV_FILE=${ENV_FILE:-.env}

if [[ -e $ENV_FILE && ${1:-} != --force ]]; then
  echo "make-env: $ENV_FILE exists; left as it is (--force replaces it)" >&2
  exit 1
fi

# URL-safe and quote-free, so compose, shells and database URLs take them as they are.
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
key=$(secret)

umask 077
cat >"$ENV_FILE" <<ENV
# Written by scripts/make-env.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Secrets only: every other
# setting has its default (.env.example). Keep this file private; back it up with the volumes.
PLATFORM_ENV=production
# Published ports listen on this machine only; set 0.0.0.0 to open them to the network.
BIND_ADDRESS=127.0.0.1

MYSQL_ROOT_PASSWORD=$(secret)
MLFLOW_DB_PASSWORD=$(secret)
MLFLOW_AUTH_DB_PASSWORD=$(secret)
DATA_DB_PASSWORD=$(secret)
# The monitoring tables' users: inference's (insert predictions only) and the ui's (read only).
PREDICTIONS_DB_PASSWORD=$(secret)
MONITOR_DB_PASSWORD=$(secret)
AIRFLOW_DB_PASSWORD=$(secret)
MINIO_ROOT_PASSWORD=$(secret)
# Celery's broker in the scale-out profile (docker-compose.scale.yaml).
REDIS_PASSWORD=$(secret)

# MLflow logins: the admin is for people (the UI), the others for the platform's services.
MLFLOW_ADMIN_PASSWORD=$(secret)
MLFLOW_AIRFLOW_PASSWORD=$(secret)
MLFLOW_READER_PASSWORD=$(secret)
MLFLOW_FLASK_SERVER_SECRET_KEY=$(secret)

AIRFLOW_ADMIN_PASSWORD=$(secret)
# Airflow's Fernet key, JWT secret and API secret key are not written here: airflow-init
# generates them per installation into the airflow-secrets volume. Set AIRFLOW_FERNET_KEY,
# AIRFLOW_JWT_SECRET, AIRFLOW_API_SECRET_KEY only to manage them yourself. Likewise the
# secret MLflow signs its webhooks to inference with (INFERENCE_WEBHOOK_SECRET): mlflow
# generates it into the platform-secrets volume.

# Predict calls need \`Authorization: Bearer <key>\`; the UI sends this one.
INFERENCE_API_KEYS=$key
UI_INFERENCE_API_KEY=$key
ENV
echo "make-env: wrote $ENV_FILE with fresh secrets (the MLflow and Airflow admin passwords are in it)" >&2
