#!/bin/bash
# First start of an empty MySQL volume only (the image's entrypoint runs
# /docker-entrypoint-initdb.d/*). One database per concern, each with its own
# user that can touch nothing else: MLflow's tracking/registry metadata, MLflow's
# logins and permissions (its basic-auth app), and the platform's raw/clean data
# tables (whose schema the platform's code creates). Two more users of the data
# database get table-level rights only, granted by airflow-init once the tables
# exist (python -m mlops_pipelines.init_tables): inference's, which may only insert
# predictions, and the ui's, which may only read the monitoring tables.
# Idempotent: on a volume made before a database was added here, run it again:
#   docker compose exec mysql bash /docker-entrypoint-initdb.d/01-databases.sh
set -euo pipefail

: "${MLFLOW_DB_NAME:?}" "${MLFLOW_DB_USER:?}" "${MLFLOW_DB_PASSWORD:?}"
: "${MLFLOW_AUTH_DB_NAME:?}" "${MLFLOW_AUTH_DB_USER:?}" "${MLFLOW_AUTH_DB_PASSWORD:?}"
: "${DATA_DB_NAME:?}" "${DATA_DB_USER:?}" "${DATA_DB_PASSWORD:?}"
: "${PREDICTIONS_DB_USER:?}" "${PREDICTIONS_DB_PASSWORD:?}" "${MONITOR_DB_USER:?}" "${MONITOR_DB_PASSWORD:?}"

# utf8mb4_bin: accepted by MySQL 8 and MariaDB alike, and case-sensitive, which
# MLflow relies on for experiment, run and model names.
mysql --protocol=socket -uroot -p"${MYSQL_ROOT_PASSWORD}" <<SQL
CREATE DATABASE IF NOT EXISTS \`${MLFLOW_DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE DATABASE IF NOT EXISTS \`${MLFLOW_AUTH_DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE DATABASE IF NOT EXISTS \`${DATA_DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

CREATE USER IF NOT EXISTS '${MLFLOW_DB_USER}'@'%' IDENTIFIED BY '${MLFLOW_DB_PASSWORD}';
CREATE USER IF NOT EXISTS '${MLFLOW_AUTH_DB_USER}'@'%' IDENTIFIED BY '${MLFLOW_AUTH_DB_PASSWORD}';
CREATE USER IF NOT EXISTS '${DATA_DB_USER}'@'%' IDENTIFIED BY '${DATA_DB_PASSWORD}';
-- No rights here: the tables they may touch do not exist yet (see above).
CREATE USER IF NOT EXISTS '${PREDICTIONS_DB_USER}'@'%' IDENTIFIED BY '${PREDICTIONS_DB_PASSWORD}';
CREATE USER IF NOT EXISTS '${MONITOR_DB_USER}'@'%' IDENTIFIED BY '${MONITOR_DB_PASSWORD}';

-- Schema owners of their own database only: both run their own migrations
-- (mlflow db upgrade; the platform's SQLAlchemy metadata), nothing global.
-- MLflow's migrations also create triggers.
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES,
      CREATE VIEW, SHOW VIEW, CREATE TEMPORARY TABLES, LOCK TABLES, TRIGGER
   ON \`${MLFLOW_DB_NAME}\`.* TO '${MLFLOW_DB_USER}'@'%';
-- MLflow's auth app migrates its own schema (alembic) at start.
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES,
      CREATE VIEW, SHOW VIEW, CREATE TEMPORARY TABLES, LOCK TABLES
   ON \`${MLFLOW_AUTH_DB_NAME}\`.* TO '${MLFLOW_AUTH_DB_USER}'@'%';
-- WITH GRANT OPTION: the data user hands out the monitoring users' table-level
-- rights (of its own database only: GRANT OPTION passes on only rights one holds).
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES,
      CREATE VIEW, SHOW VIEW, CREATE TEMPORARY TABLES, LOCK TABLES
   ON \`${DATA_DB_NAME}\`.* TO '${DATA_DB_USER}'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
echo "mysql-init: created databases ${MLFLOW_DB_NAME}, ${MLFLOW_AUTH_DB_NAME}, ${DATA_DB_NAME} and their users" \
  "(and ${PREDICTIONS_DB_USER}, ${MONITOR_DB_USER}: airflow-init grants their table rights)"
