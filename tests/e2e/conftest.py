"""End-to-end tier: drives the running compose stack through its real interfaces.

`scripts/test.sh e2e` builds and starts the stack, runs these tests and tears it
down. Addresses and logins come from the same variables docker-compose.yaml
reads, with the same defaults.
"""

from __future__ import annotations

import os

import pymysql
import pytest
import requests

from e2e.stack import AirflowClient, Stack, aliases, register_again, url, wait_for


@pytest.fixture(scope="session")
def stack() -> Stack:
    return Stack(
        airflow=url("AIRFLOW_PORT", 8080),
        mlflow=url("MLFLOW_PORT", 5000),
        minio=url("MINIO_API_PORT", 9000),
        data_api=url("DATA_API_PORT", 8000),
        inference=url("INFERENCE_PORT", 8989),
        ui=url("UI_PORT", 8503),
        airflow_user=os.environ.get("AIRFLOW_ADMIN_USER", "admin"),
        airflow_password=os.environ.get("AIRFLOW_ADMIN_PASSWORD", "admin"),
        minio_user=os.environ.get("MINIO_ROOT_USER", "minioadmin"),
        minio_password=os.environ.get("MINIO_ROOT_PASSWORD", "change-me-minio"),
        artifacts_bucket=os.environ.get("MLFLOW_ARTIFACTS_BUCKET", "mlflow"),
    )


@pytest.fixture(scope="session")
def airflow_token(stack: Stack) -> str:
    """A REST API token for the admin login, as a script would get one."""
    response = requests.post(
        f"{stack.airflow}/auth/token",
        json={"username": stack.airflow_user, "password": stack.airflow_password},
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()["access_token"]


@pytest.fixture(scope="session")
def airflow(stack: Stack, airflow_token: str) -> AirflowClient:
    return AirflowClient(stack.airflow, airflow_token)


@pytest.fixture(scope="session")
def registry(stack: Stack):
    """MLflow's client as the admin, with the process-wide URIs set too (mlflow.search_runs, pyfunc)."""
    import mlflow
    from mlflow import MlflowClient

    # Artifacts through the MLflow server (presigned URLs would name MinIO's
    # address inside the compose network).
    os.environ.setdefault("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    mlflow.set_tracking_uri(stack.mlflow)
    mlflow.set_registry_uri(stack.mlflow)
    return MlflowClient(tracking_uri=stack.mlflow, registry_uri=stack.mlflow)


@pytest.fixture(scope="session")
def penguins_other_version(registry) -> str:
    """A registered penguins version besides production, for the promotion tests.

    The standard order registers only production and a challenger: a person
    registers the production model's source again (a new version, the same model)
    as the version to promote.
    """
    name = "penguins-classifier"
    production = registry.get_model_version_by_alias(name, "production")
    # Not the challenger (test_05 trains one): the promotion tests move aliases on a version that holds none.
    aliased = set(aliases(registry, name).values())
    others = [v for v in registry.search_model_versions(f"name = '{name}'") if str(v.version) not in aliased]
    if others:
        return str(max(int(v.version) for v in others))
    return register_again(registry, name, production)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright, launched by the UI's page object (ui.page)."""
    from playwright.sync_api import sync_playwright

    from ui.page import launch_chromium

    with sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def data_db():
    """The platform's MySQL data database, as the platform's own user sees it."""
    conn = pymysql.connect(
        host="127.0.0.1",
        port=int(os.environ.get("MYSQL_PORT", 3306)),
        user=os.environ.get("DATA_DB_USER", "mlops"),
        password=os.environ.get("DATA_DB_PASSWORD", "mlops"),
        database=os.environ.get("DATA_DB_NAME", "mlops_data"),
        autocommit=True,
    )
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def served(stack, airflow, registry):
    """Both datasets have a production model (the e2e tests made them; a tier run alone makes them)."""
    for dataset in ("penguins", "covertype"):
        try:
            registry.get_model_version_by_alias(f"{dataset}-classifier", "production")
        except Exception:
            airflow.run(f"{dataset}_ingest")
            airflow.run(f"{dataset}_train")
    wait_for(lambda: requests.get(f"{stack.inference}/ready", timeout=10).status_code == 200, timeout=300, message="inference /ready")
