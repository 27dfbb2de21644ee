# Shared by backup.sh and restore.sh (sourced): the compose project the user runs,
# and clients inside its database containers.
# shellcheck shell=bash
# Scripts in single quotes run in the containers, with their variables.
# shellcheck disable=SC2016

BACKUP_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BACKUP_LIB/../.." && pwd)

# The user's compose project: COMPOSE_FILE and COMPOSE_PROJECT_NAME (and .env) as
# docker compose itself reads them; without COMPOSE_FILE, the repository's file.
compose() {
  if [[ -n ${COMPOSE_FILE:-} ]]; then
    docker compose "$@"
  else
    docker compose -f "$ROOT/docker-compose.yaml" "$@"
  fi
}

log() { printf '%s [%s] %s\n' "${0##*/}" "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# in_mysql 'SCRIPT' ARGS...: SCRIPT runs in the mysql container with $DUMP and
# $CLIENT (MariaDB's or MySQL's tool names) and root's password from the
# container's own environment, so it is what compose gave the server.
in_mysql() {
  local script=$1; shift
  compose exec -T mysql sh -c '
    export MYSQL_PWD="$MYSQL_ROOT_PASSWORD"
    DUMP=$(command -v mariadb-dump || command -v mysqldump)
    CLIENT=$(command -v mariadb || command -v mysql)
    '"$script" sh "$@"
}

# in_postgres 'SCRIPT' ARGS...: as the database owner, over the local socket.
in_postgres() {
  local script=$1; shift
  compose exec -T postgres sh -c "$script" sh "$@"
}

# mysql_query SQL: tab-separated rows, no header.
mysql_query() {
  in_mysql '"$CLIENT" -uroot --batch --skip-column-names -e "$1"' "$1"
}

postgres_query() {
  in_postgres 'psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "${2:-$POSTGRES_DB}" -At -F "	" -c "$1"' "$1" "${2:-}"
}

# The python in minio-init's image, with the MinIO address and login compose gives it.
objects_tool() {
  compose run --rm --no-deps -T --entrypoint python minio-init -c "$(cat "$BACKUP_LIB/objects.py")" "$@"
}

# The platform's own databases: every one but the server's.
# shellcheck disable=SC2034  # used by backup.sh
MYSQL_SYSTEM_DATABASES="'information_schema','performance_schema','mysql','sys'"
