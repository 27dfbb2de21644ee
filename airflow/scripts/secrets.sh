#!/bin/bash
# Airflow's signing and encryption secrets, one set per installation.
#
# Given in the environment (.env), a value wins. Otherwise airflow-init generates
# each one at random on the first start into the airflow-secrets volume
# (`secrets.sh generate`), and every Airflow container exports them from there
# (entrypoint.sh sources this file), so no installation shares a published default.
#
#   variable                        file in $AIRFLOW_SECRETS_DIR
AIRFLOW_SECRETS=(
  "AIRFLOW__CORE__FERNET_KEY      fernet_key"       # encrypts connections and variables
  "AIRFLOW__API_AUTH__JWT_SECRET  jwt_secret"       # signs UI, REST API and task tokens
  "AIRFLOW__API__SECRET_KEY       api_secret_key"   # signs the API server's sessions
)
AIRFLOW_SECRETS_DIR=${AIRFLOW_SECRETS_DIR:-/opt/airflow/secrets}

# Writes the files that are missing; never replaces one (a new Fernet key would
# make every stored connection unreadable).
generate_missing_secrets() {
  local entry var file
  mkdir -p "$AIRFLOW_SECRETS_DIR"
  for entry in "${AIRFLOW_SECRETS[@]}"; do
    read -r var file <<<"$entry"
    [[ -s $AIRFLOW_SECRETS_DIR/$file ]] && continue
    # Group 0 may read: every Airflow container runs in group 0, whatever AIRFLOW_UID.
    (umask 027; python - >"$AIRFLOW_SECRETS_DIR/$file.tmp" <<PY
import secrets
from cryptography.fernet import Fernet
print(Fernet.generate_key().decode() if "$file" == "fernet_key" else secrets.token_urlsafe(48))
PY
    )
    mv "$AIRFLOW_SECRETS_DIR/$file.tmp" "$AIRFLOW_SECRETS_DIR/$file"
    echo "airflow-secrets: generated $var into the airflow-secrets volume (set it in .env to choose it)" >&2
  done
}

# Exports each secret not given in the environment from its file.
export_secrets() {
  local entry var file
  for entry in "${AIRFLOW_SECRETS[@]}"; do
    read -r var file <<<"$entry"
    if [[ -z ${!var:-} && -s $AIRFLOW_SECRETS_DIR/$file ]]; then
      export "$var=$(<"$AIRFLOW_SECRETS_DIR/$file")"
    fi
  done
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-} in
    generate) generate_missing_secrets ;;
    *) echo "usage: $0 generate" >&2; exit 2 ;;
  esac
fi
