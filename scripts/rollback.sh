#!/usr/bin/env bash
# Puts an alias back on the version it held before, as the alias history records it:
#
#   ./scripts/rollback.sh MODEL [ALIAS]      e.g. ./scripts/rollback.sh penguins-classifier
#
# ALIAS defaults to production. Runs `python -m inference.rollback` in the running
# inference container with the registry's admin login (inference's own login may move
# no alias): MLFLOW_ADMIN_USER / MLFLOW_ADMIN_PASSWORD from the environment, else from
# .env, else compose's defaults. The rollback is appended to the history (path
# "rollback", GET /models/MODEL/history) and every replica serves the version at once.
# A second rollback goes forward again. Nothing changes when the history holds no
# earlier version, or when the registry has moved since the history's last entry.
# COMPOSE_FILE / COMPOSE_PROJECT_NAME choose the stack as for docker compose itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $# -lt 1 || $# -gt 2 || $1 == -h || $1 == --help ]]; then
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
fi

# A value from the environment, else from .env (the last assignment), else the default.
setting() {
  local name=$1 default=$2 value=${!1:-}
  if [[ -z $value && -f .env ]]; then
    value=$(sed -n "s/^${name}=//p" .env | tail -n 1)
  fi
  printf '%s' "${value:-$default}"
}

admin_user=$(setting MLFLOW_ADMIN_USER admin)
admin_password=$(setting MLFLOW_ADMIN_PASSWORD change-me-mlflow-admin)

# The login goes in through the environment (not the command line, which `ps` shows).
MLFLOW_TRACKING_USERNAME=$admin_user MLFLOW_TRACKING_PASSWORD=$admin_password \
  docker compose exec -T -e MLFLOW_TRACKING_USERNAME -e MLFLOW_TRACKING_PASSWORD \
  inference python -m inference.rollback "$@"
