#!/bin/bash
# One-shot airflow-init: generate this installation's secrets on the first start,
# migrate the metadata database and make sure the admin login exists with the
# password from the environment, create the platform's data tables and grant the
# monitoring users their table rights. Safe to run on every `docker compose up`.
set -euo pipefail
: "${AIRFLOW_ADMIN_USER:?}" "${AIRFLOW_ADMIN_PASSWORD:?}"

# shellcheck source=secrets.sh
source /opt/airflow/scripts/secrets.sh
generate_missing_secrets
export_secrets

echo "airflow-init: airflow db migrate"
airflow db migrate

# As the data user (AIRFLOW_CONN_MLOPS_DATA): create-if-missing, then GRANTs that
# need the tables to exist (inference may insert predictions, the ui may read).
echo "airflow-init: data tables and the monitoring users' rights"
python -m mlops_pipelines.init_tables

if airflow users list --output plain 2>/dev/null | awk '{print $2}' | grep -qx "${AIRFLOW_ADMIN_USER}"; then
  echo "airflow-init: user ${AIRFLOW_ADMIN_USER} exists; setting its password from AIRFLOW_ADMIN_PASSWORD"
  airflow users reset-password --username "${AIRFLOW_ADMIN_USER}" --password "${AIRFLOW_ADMIN_PASSWORD}"
else
  echo "airflow-init: creating admin user ${AIRFLOW_ADMIN_USER}"
  airflow users create --role Admin \
    --username "${AIRFLOW_ADMIN_USER}" --password "${AIRFLOW_ADMIN_PASSWORD}" \
    --firstname Platform --lastname Admin --email "${AIRFLOW_ADMIN_EMAIL:-admin@example.com}"
fi
echo "airflow-init: done"
