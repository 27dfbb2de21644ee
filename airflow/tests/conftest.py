from __future__ import annotations

import http.server
import json
import os
import tempfile
import threading
import uuid

# Airflow reads its config at import: keep its home out of the user's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "false")
# dag.test() runs a DAG from its serialized form, which it reads from the dags folder.
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "dags"))

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@pytest.fixture
def mysql_engine():
    """A fresh, empty database on the real MySQL server of TEST_MYSQL_URL.

    scripts/test.sh starts the compose file's mysql service and sets the URL;
    the user needs rights to create and drop databases (the test uses root).
    """
    url = os.environ.get("TEST_MYSQL_URL")
    if not url:
        pytest.skip("TEST_MYSQL_URL is not set (scripts/test.sh sets it)")
    admin = create_engine(url)
    name = f"test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    engine = create_engine(make_url(url).set(database=name, query={"charset": "utf8mb4"}))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE `{name}`"))
        admin.dispose()


@pytest.fixture(scope="module")
def mlflow_uri():
    """The real MLflow server of TEST_MLFLOW_URI (MySQL backend, MinIO artifacts), as tracking URI."""
    import mlflow

    uri = os.environ.get("TEST_MLFLOW_URI")
    if not uri:
        pytest.skip("TEST_MLFLOW_URI is not set (scripts/test.sh sets it)")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    # The server hands out presigned URLs naming MinIO inside the compose
    # network; from the host, fetch artifacts through the server instead.
    saved = os.environ.get("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD")
    os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"] = "false"
    yield uri
    mlflow.set_tracking_uri(previous)
    if saved is None:
        os.environ.pop("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", None)
    else:
        os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"] = saved


@pytest.fixture
def fake_data_api():
    """A real HTTP server playing data_api (faked at the HTTP boundary)."""
    replies = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = replies.pop(0)
            # Recorded before answering: the client checks it as soon as it has the answer.
            replies.append(("path", self.path))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", replies
    server.shutdown()
