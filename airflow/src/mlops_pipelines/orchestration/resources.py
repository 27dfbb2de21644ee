"""The platform services a DAG task talks to, from Airflow connections.

docker-compose.yaml defines them as AIRFLOW_CONN_* variables; override them
there or in the Airflow UI (Admin > Connections).
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine

DATA_DB_CONN_ID = "mlops_data"
DATA_API_CONN_ID = "data_api"


def _connection(conn_id: str):
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


@cache
def data_engine(conn_id: str = DATA_DB_CONN_ID) -> Engine:
    """SQLAlchemy engine on the platform's MySQL data database."""
    conn = _connection(conn_id)
    url = URL.create(
        "mysql+pymysql",
        username=conn.login,
        password=conn.password,
        host=conn.host,
        port=conn.port or 3306,
        database=conn.schema,
        query={"charset": "utf8mb4"},
    )
    return create_engine(url, pool_pre_ping=True)


def data_api_url(conn_id: str = DATA_API_CONN_ID) -> str:
    conn = _connection(conn_id)
    return f"http://{conn.host}:{conn.port or 8000}"
