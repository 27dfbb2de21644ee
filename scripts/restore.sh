#!/usr/bin/env bash
# Restore an archive of scripts/backup.sh into a freshly created stack:
#
#   docker compose up -d --wait                 # empty volumes, same .env as the backed-up platform
#   scripts/restore.sh backups/mlops-backup-<time>.tar.gz
#
# Checks the archive against its manifest (sha256 of every file) before touching
# anything; stops the services that write (Airflow, MLflow, inference, data_api);
# replaces each MySQL database and Airflow's PostgreSQL database with the dump
# (users and grants are the stack's own, re-applied by mysql/init); makes the
# artifact buckets hold exactly the archive's objects; restores the data-api-state
# and airflow-secrets volumes; then starts everything again (up --wait).
# Verifies row counts per table and every object (read back, sha256) against the
# manifest, and exits non-zero on any difference.
#
# Same compose project selection as backup.sh (COMPOSE_PROJECT_NAME, COMPOSE_FILE, .env).
# Scripts in single quotes run in the containers, with their variables.
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=scripts/backup/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup/common.sh"

[[ $# -eq 1 && -f $1 ]] || { echo "usage: $0 ARCHIVE (a scripts/backup.sh archive)" >&2; exit 2; }
ARCHIVE=$1
STARTED=$(date +%s)
MANIFEST=(python3 "$BACKUP_LIB/manifest.py")
WRITERS=(airflow-apiserver airflow-scheduler airflow-dag-processor airflow-triggerer mlflow inference data_api)
umask 077
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

log "unpacking $ARCHIVE"
tar -xzf "$ARCHIVE" -C "$WORK"
STAGE=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'mlops-backup-*' | head -n1)
[[ -n $STAGE && -f $STAGE/manifest.json ]] || die "$ARCHIVE holds no mlops-backup-*/manifest.json"
"${MANIFEST[@]}" verify-files "$STAGE" || die "the archive does not match its manifest; nothing was changed"

running=$(compose ps --status running --services)
for svc in mysql postgres minio; do
  grep -qx "$svc" <<<"$running" || die "service $svc is not running: bring the new stack up first (docker compose up -d --wait)"
done
PROJECT=$(compose config --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["name"])')
log "restoring $(basename "$STAGE") (from project $("${MANIFEST[@]}" get "$STAGE" compose_project)) into compose project $PROJECT"
log "mysql here: $(mysql_query "SELECT VERSION()"), in the archive: $("${MANIFEST[@]}" get "$STAGE" mysql version)"

log "stopping the writers: ${WRITERS[*]}"
compose stop "${WRITERS[@]}"

FAILED=0

# MySQL: each database dropped, created with its recorded character set and
# collation, and loaded. Grants name the database, so they survive the drop;
# mysql/init re-applies the stack's users and grants (idempotent) all the same.
mapfile -t databases < <("${MANIFEST[@]}" get "$STAGE" mysql databases)
for db in "${databases[@]}"; do
  charset=$("${MANIFEST[@]}" get "$STAGE" mysql databases "$db" charset)
  collation=$("${MANIFEST[@]}" get "$STAGE" mysql databases "$db" collation)
  log "mysql: replacing $db ($charset, $collation)"
  in_mysql '"$CLIENT" -uroot -e "DROP DATABASE IF EXISTS \`$1\`; CREATE DATABASE \`$1\` CHARACTER SET $2 COLLATE $3"' \
    "$db" "$charset" "$collation"
  in_mysql '"$CLIENT" -uroot --default-character-set=utf8mb4 "$1"' "$db" <"$STAGE/mysql/$db.sql"
done
if compose exec -T mysql test -f /docker-entrypoint-initdb.d/01-databases.sh; then
  compose exec -T mysql bash /docker-entrypoint-initdb.d/01-databases.sh >&2
fi
for db in "${databases[@]}"; do
  mysql_query "$("${MANIFEST[@]}" count-sql mysql "$db" "$STAGE")" | "${MANIFEST[@]}" compare-rows mysql "$db" "$STAGE" || FAILED=1
done

# PostgreSQL: Airflow's database dropped (its connections closed) and loaded.
mapfile -t pg_databases < <("${MANIFEST[@]}" get "$STAGE" postgres databases)
for db in "${pg_databases[@]}"; do
  log "postgres: replacing $db"
  postgres_query "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" postgres
  postgres_query "CREATE DATABASE \"$db\"" postgres
  in_postgres 'psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$1" >/dev/null' "$db" <"$STAGE/postgres/$db.sql"
  postgres_query "$("${MANIFEST[@]}" count-sql postgres "$db" "$STAGE")" "$db" \
    | "${MANIFEST[@]}" compare-rows postgres "$db" "$STAGE" || FAILED=1
done

# Objects: uploaded, anything else in the buckets deleted, all read back and hashed.
log "objects: uploading $("${MANIFEST[@]}" get "$STAGE" objects count) objects"
entries=(buckets.json)
[[ -d $STAGE/objects ]] && entries+=(objects)
tar -C "$STAGE" -cf - "${entries[@]}" | objects_tool import >"$WORK/objects.json"
"${MANIFEST[@]}" compare-objects "$STAGE" <"$WORK/objects.json" || FAILED=1

# Volumes, written through the services' own images, as their users.
log "volumes: data-api-state, airflow-secrets"
compose run --rm --no-deps -T --entrypoint sh data_api -c \
  'find /var/lib/data_api -mindepth 1 -delete && tar -C /var/lib/data_api -xf -' <"$STAGE/volumes/data-api-state.tar"
compose run --rm --no-deps -T --entrypoint sh airflow-init -c \
  'find /opt/airflow/secrets -mindepth 1 -delete && tar -C /opt/airflow/secrets -xf -' <"$STAGE/volumes/airflow-secrets.tar"

log "starting the platform again (up --wait)"
# A loaded machine can fail a healthcheck once while a service starts, which
# ends `up --wait`; a service that stays unhealthy fails all three.
for attempt in 1 2 3; do
  compose up -d --wait --wait-timeout "${RESTORE_UP_TIMEOUT:-600}" && break
  [[ $attempt == 3 ]] && die "the platform did not come up healthy after the restore (docker compose ps; logs)"
  log "not every service is healthy yet; waiting again"
done

if [[ $FAILED != 0 ]]; then
  die "restored with differences from the manifest (see MISMATCH above), in $(( $(date +%s) - STARTED ))s"
fi
log "restored and verified in $(( $(date +%s) - STARTED ))s"
