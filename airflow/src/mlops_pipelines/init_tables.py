"""airflow-init's database step: `python -m mlops_pipelines.init_tables`.

Creates the data tables (create-if-missing), adds the columns a table of an older
release lacks, then grants the monitoring tables'
users their rights, as the data user of the Airflow connection, read without
Airflow: this runs before anything else.
"""

from __future__ import annotations

import logging
import os
import sys

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

from mlops_pipelines.tables import MONITORING_TABLES, grant_monitoring, metadata, upgrade_tables

log = logging.getLogger(__name__)

# The users of the monitoring tables (created by mysql/init/01-databases.sh).
PREDICTIONS_DB_USER = "predictions_writer"
MONITOR_DB_USER = "monitor_reader"


def _engine_from_environment() -> Engine:
    # The Airflow connection's URI (mysql://user:password@host:port/db).
    url = make_url(os.environ.get("MLOPS_DATA_URL") or os.environ["AIRFLOW_CONN_MLOPS_DATA"])
    url = url.set(drivername="mysql+pymysql", query={"charset": "utf8mb4"})
    return create_engine(url, pool_pre_ping=True)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    writer = os.environ.get("PREDICTIONS_DB_USER", PREDICTIONS_DB_USER)
    reader = os.environ.get("MONITOR_DB_USER", MONITOR_DB_USER)
    engine = _engine_from_environment()
    try:
        added = upgrade_tables(engine)
        log.info("tables: %s%s", ", ".join(sorted(metadata.tables)), "".join(f"; {a}" for a in added))
        try:
            grant_monitoring(engine, writer, reader)
        except DBAPIError as exc:
            # A volume made before these users existed: everything else works; say how to fix it.
            log.warning(
                "tables: could not grant the monitoring users %s and %s their rights (%s). On a MySQL volume made "
                "before they existed, run `docker compose exec mysql bash /docker-entrypoint-initdb.d/01-databases.sh`, "
                "then `docker compose up airflow-init`.",
                writer,
                reader,
                exc.orig,
            )
            return 0
        log.info(
            "tables: %s may insert into predictions and shadow_predictions; %s may select %s",
            writer,
            reader,
            ", ".join(t.name for t in MONITORING_TABLES),
        )
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
