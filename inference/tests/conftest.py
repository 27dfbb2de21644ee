from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from models import fitted, synthetic
from specs import COVERTYPE_SPEC, PENGUINS_SPEC


def pytest_configure(config):
    config.addinivalue_line("markers", "mlflow: service tests against a real MLflow server (TEST_MLFLOW_URI)")


@pytest.fixture(scope="session")
def mlflow_uri() -> str:
    uri = os.environ.get("TEST_MLFLOW_URI")
    if not uri:
        pytest.skip("TEST_MLFLOW_URI is not set (scripts/test.sh starts a real MLflow server and sets it)")
    import mlflow

    # Artifacts through the server, not presigned MinIO URLs (see inference.registry).
    os.environ.setdefault("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def log_version(name: str, spec: dict | None, kind: str, seed: int = 0, accuracy: float = 0.9) -> str:
    """Log a fitted pipeline the way the training DAGs do and register it; returns the version."""
    import sklearn
    import skops
    import skops.io
    from mlflow.models import infer_signature

    import mlflow

    # The apps under test point the process-wide URIs elsewhere (a down MLflow, say).
    mlflow.set_tracking_uri(os.environ["TEST_MLFLOW_URI"])
    mlflow.set_registry_uri(os.environ["TEST_MLFLOW_URI"])
    model = fitted(spec or PENGUINS_SPEC, kind, seed=seed)
    X, _ = synthetic(spec or PENGUINS_SPEC, 5, seed=seed + 100)
    mlflow.set_experiment(f"inference-tests-{name}")
    with mlflow.start_run():
        mlflow.log_metric("test_accuracy", accuracy)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(X, model.predict_proba(X)),
            input_example=X.head(3),
            # spec None: a broken model version, as a bad training run might register.
            metadata={"feature_spec": spec} if spec else None,
            registered_model_name=name,
            # skops (MLflow's default format) loads only types it is told to trust:
            # those of the pipeline just fitted here.
            skops_trusted_types=skops.io.get_untrusted_types(data=skops.io.dumps(model)),
            # Named, so MLflow does not load the model in a subprocess to infer them.
            pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}"],
        )
    return str(info.registered_model_version)


@pytest.fixture(scope="session")
def registered(mlflow_uri):
    """Registered models on the real server: penguins v1 (LR, production), v2 (RF); covertype v1 (production)."""
    from mlflow import MlflowClient

    prefix = f"t{uuid.uuid4().hex[:8]}"
    names = {"penguins": f"{prefix}-penguins-classifier", "covertype": f"{prefix}-covertype-classifier"}
    assert log_version(names["penguins"], PENGUINS_SPEC, "lr", accuracy=0.91) == "1"
    assert log_version(names["penguins"], PENGUINS_SPEC, "rf", seed=1, accuracy=0.95) == "2"
    assert log_version(names["covertype"], COVERTYPE_SPEC, "lr") == "1"
    client = MlflowClient()
    client.set_registered_model_alias(names["penguins"], "production", "1")
    client.set_registered_model_alias(names["covertype"], "production", "1")
    return {"prefix": prefix, "names": names, "client": client}


def wait_until(condition, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(interval)


@pytest.fixture
def make_client(mlflow_uri):
    """A running inference app (lifespan, refresher) on the real registry."""
    from fastapi.testclient import TestClient

    from inference.main import create_app
    from inference.settings import Settings

    clients = []

    def make(models: str, refresh_seconds: float = 0.5, uri: str | None = None, wait_ready: bool = True, **extra):
        import mlflow

        # The app must find the registry from its settings alone, not from
        # process-wide URIs these tests set to log models.
        mlflow.set_tracking_uri("file:///nonexistent-tracking")
        mlflow.set_registry_uri("file:///nonexistent-registry")
        # The prediction log's own tests turn it on, with their database.
        extra.setdefault("prediction_log", "off")
        settings = Settings(mlflow_tracking_uri=uri or mlflow_uri, models=models, refresh_seconds=refresh_seconds, **extra)
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        if wait_ready:
            wait_until(lambda: client.get("/ready").status_code == 200, message="/ready")
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(registered, make_client):
    """The app serving both registered models, the original clients' routes included."""
    names = registered["names"]
    return make_client(f"{names['penguins']},{names['covertype']}", penguins_model=names["penguins"], covertype_model=names["covertype"])


MONITORING_CONTRACT = json.loads((Path(__file__).resolve().parents[2] / "contract" / "monitoring-tables.json").read_text())


# The prediction log's table and the view it is read through.
PREDICTION_LOG = ("prediction_requests", "predictions")


@contextmanager
def monitoring_db(*tables: str) -> Iterator[tuple[str, Any]]:
    """A fresh database with the given monitoring tables, made from contract/monitoring-tables.json (airflow
    owns the schema), and a URL of a user that may only insert into them, as in the compose stack; with a
    reader engine of the root user. Dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = os.environ.get("TEST_MYSQL_URL")
    if not url:
        pytest.skip("TEST_MYSQL_URL is not set (scripts/test.sh sets it)")
    # Pre-ping: the restart test stops MySQL under these pools.
    admin = create_engine(url, pool_pre_ping=True)
    name = f"test_{uuid.uuid4().hex[:12]}"
    writer = f"w_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
        conn.execute(text(f"USE `{name}`"))
        conn.execute(text(f"CREATE USER '{writer}'@'%' IDENTIFIED BY 'pw-{writer}'"))
        for table in tables:
            # The statements airflow makes the table with (the golden file), so these tests write to its schema.
            for statement in MONITORING_CONTRACT["tables"][table]["ddl"]:
                conn.execute(text(statement))
            if "view_of" not in MONITORING_CONTRACT["tables"][table]:  # a view is written through its table
                conn.execute(text(f"GRANT INSERT ON `{name}`.`{table}` TO '{writer}'@'%'"))
    reader = create_engine(make_url(url).set(database=name), pool_pre_ping=True)
    writer_url = make_url(url).set(database=name, username=writer, password=f"pw-{writer}").render_as_string(hide_password=False)
    try:
        yield writer_url, reader
    finally:
        reader.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            conn.execute(text(f"DROP USER IF EXISTS '{writer}'@'%'"))
        admin.dispose()
