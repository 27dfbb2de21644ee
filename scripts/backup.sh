#!/usr/bin/env bash
# One archive of the platform's state, taken while it runs:
#
#   scripts/backup.sh [OUTDIR]      -> OUTDIR/mlops-backup-<UTC time>.tar.gz (default OUTDIR: ./backups)
#
# In it: every MySQL database of the platform (mysqldump --single-transaction),
# Airflow's PostgreSQL database (pg_dump), every object of the artifact buckets,
# the data-api-state and airflow-secrets volumes, and manifest.json (versions,
# image tags, row counts per table, object count and bytes, sha256 of every file).
# The archive holds secrets (Airflow's Fernet key, password hashes): keep it like .env.
#
# Works on the compose project you run: COMPOSE_PROJECT_NAME, COMPOSE_FILE and
# .env as docker compose reads them (without COMPOSE_FILE, ../docker-compose.yaml).
# Needs bash, docker compose, tar and python3 on the host.
# Scripts in single quotes run in the containers, with their variables.
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=scripts/backup/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup/common.sh"

OUTDIR=${1:-$ROOT/backups}
STARTED=$(date +%s)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
NAME=mlops-backup-$STAMP
umask 077
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/$NAME
mkdir -p "$STAGE/mysql" "$STAGE/postgres" "$STAGE/volumes"

running=$(compose ps --status running --services)
for svc in mysql postgres minio; do
  grep -qx "$svc" <<<"$running" || die "service $svc is not running (docker compose up -d --wait first)"
done
PROJECT=$(compose config --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["name"])')
log "backing up compose project $PROJECT into $OUTDIR/$NAME.tar.gz"

# MySQL: each database in its own consistent snapshot (InnoDB, --single-transaction:
# no lock held on the running platform). One INSERT per row, so the manifest's row
# counts are read from the dump itself.
mapfile -t databases < <(mysql_query "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA
  WHERE SCHEMA_NAME NOT IN ($MYSQL_SYSTEM_DATABASES) ORDER BY SCHEMA_NAME")
[[ ${#databases[@]} -gt 0 ]] || die "no platform database in MySQL"
for db in "${databases[@]}"; do
  log "mysql: dumping $db"
  in_mysql '"$DUMP" -uroot --single-transaction --routines --triggers --events --hex-blob \
      --skip-extended-insert --no-autocommit --default-character-set=utf8mb4 "$1"' "$db" >"$STAGE/mysql/$db.sql"
done

# PostgreSQL: Airflow's database, plain SQL (COPY blocks), ownership left to the
# restoring database owner.
PG_DB=$(in_postgres 'printf %s "$POSTGRES_DB"')
log "postgres: dumping $PG_DB"
in_postgres 'pg_dump -U "$POSTGRES_USER" -d "$1" --format=plain --no-owner --no-privileges' "$PG_DB" >"$STAGE/postgres/$PG_DB.sql"

# Objects after the metadata: every artifact a dumped run or version names was
# written before it, so it is in the archive.
log "objects: exporting the artifact buckets"
objects_tool export | tar -x -C "$STAGE"

# Volumes, read through the services' own images (their users own the files).
log "volumes: data-api-state, airflow-secrets"
compose run --rm --no-deps -T --entrypoint tar data_api -C /var/lib/data_api -cf - . >"$STAGE/volumes/data-api-state.tar"
compose run --rm --no-deps -T --entrypoint tar airflow-init -C /opt/airflow/secrets -cf - . >"$STAGE/volumes/airflow-secrets.tar"

# What the manifest says besides rows and files (manifest.py adds those).
MYSQL_VERSION=$(mysql_query "SELECT VERSION()")
POSTGRES_VERSION=$(postgres_query "SHOW server_version")
MYSQL_SCHEMAS=$(mysql_query "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
  FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ($MYSQL_SYSTEM_DATABASES)")
GIT_SHA=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | head -c1 | wc -c)
SERVICES=$(compose ps --all --format json)
export NAME PROJECT STAMP MYSQL_VERSION POSTGRES_VERSION MYSQL_SCHEMAS GIT_SHA GIT_DIRTY SERVICES PG_DB
python3 - >"$WORK/facts.json" <<'PY'
import json, os
raw = os.environ["SERVICES"].strip()
services = json.loads(raw) if raw.startswith("[") else [json.loads(line) for line in raw.splitlines() if line]
schemas = [line.split("\t") for line in os.environ["MYSQL_SCHEMAS"].splitlines() if line]
print(json.dumps({
    "format": 1,
    "name": os.environ["NAME"],
    "created_at": os.environ["STAMP"],
    "compose_project": os.environ["PROJECT"],
    "platform_git_sha": os.environ["GIT_SHA"] + ("-dirty" if os.environ["GIT_DIRTY"] != "0" else ""),
    "images": {s["Service"]: s["Image"] for s in services},
    "mysql": {"version": os.environ["MYSQL_VERSION"],
              "databases": {name: {"charset": cs, "collation": coll} for name, cs, coll in schemas}},
    "postgres": {"version": os.environ["POSTGRES_VERSION"], "databases": [os.environ["PG_DB"]]},
    "volumes": ["data-api-state", "airflow-secrets"],
}))
PY
python3 "$BACKUP_LIB/manifest.py" write "$STAGE" "$WORK/facts.json"

tar -czf "$OUTDIR/$NAME.tar.gz.part" -C "$WORK" "$NAME"
mv "$OUTDIR/$NAME.tar.gz.part" "$OUTDIR/$NAME.tar.gz"
log "wrote $OUTDIR/$NAME.tar.gz ($(du -h "$OUTDIR/$NAME.tar.gz" | cut -f1)) in $(( $(date +%s) - STARTED ))s; it holds secrets"
echo "$OUTDIR/$NAME.tar.gz"
