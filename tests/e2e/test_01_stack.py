"""The platform stack is up, wired together, and configured as documented."""

from __future__ import annotations

import os
import uuid

import boto3
import pymysql
import pytest
import requests
from botocore.config import Config

import mlflow

PYTHON_SERVICES = ["mlflow", "airflow-apiserver", "airflow-scheduler", "data_api", "inference", "ui"]


def test_airflow_components_are_healthy(stack):
    health = requests.get(f"{stack.airflow}/api/v2/monitor/health", timeout=30).json()
    for component in ("metadatabase", "scheduler", "dag_processor", "triggerer"):
        assert health[component]["status"] == "healthy", (component, health)


def test_airflow_admin_login_gives_a_rest_api_token(stack, airflow_token):
    dags = requests.get(f"{stack.airflow}/api/v2/dags", headers={"Authorization": f"Bearer {airflow_token}"}, timeout=30)
    assert dags.status_code == 200, dags.text
    assert "dags" in dags.json()


def test_airflow_rejects_a_wrong_password_and_anonymous_calls(stack):
    wrong = requests.post(f"{stack.airflow}/auth/token", json={"username": stack.airflow_user, "password": "not-the-password"}, timeout=30)
    assert wrong.status_code in (400, 401, 403)
    assert requests.get(f"{stack.airflow}/api/v2/dags", timeout=30).status_code in (401, 403)


def test_mlflow_health(stack):
    response = requests.get(f"{stack.mlflow}/health", timeout=30)
    assert response.status_code == 200
    assert response.text.strip() == "OK"


def test_run_logged_from_the_host_stores_its_artifact_in_minio(stack, tmp_path):
    """Artifacts go through the MLflow server (proxied) into the MinIO bucket."""
    mlflow.set_tracking_uri(stack.mlflow)
    mlflow.set_experiment("e2e-stack")
    marker = uuid.uuid4().hex
    artifact = tmp_path / "hello.txt"
    artifact.write_text(marker)
    with mlflow.start_run() as run:
        mlflow.log_param("marker", marker)
        mlflow.log_metric("answer", 42.0)
        mlflow.log_artifact(str(artifact), artifact_path="e2e")
    # The client saw only the server's proxied artifact URI, never S3.
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")

    fetched = mlflow.MlflowClient().get_run(run.info.run_id)
    assert fetched.data.params["marker"] == marker
    assert fetched.data.metrics["answer"] == 42.0

    s3 = boto3.client(
        "s3",
        endpoint_url=stack.minio,
        region_name="us-east-1",
        aws_access_key_id=stack.minio_user,
        aws_secret_access_key=stack.minio_password,
        config=Config(s3={"addressing_style": "path"}),
    )
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.artifacts_bucket)
        for obj in page.get("Contents", [])
    ]
    matches = [k for k in keys if run.info.run_id in k and k.endswith("e2e/hello.txt")]
    assert len(matches) == 1, keys
    body = s3.get_object(Bucket=stack.artifacts_bucket, Key=matches[0])["Body"].read().decode()
    assert body == marker


@pytest.mark.parametrize("service", ["data_api", "inference"])
def test_fastapi_services_answer_health_and_openapi(stack, service):
    base = getattr(stack, service)
    assert requests.get(f"{base}/health", timeout=30).json()["status"] == "ok"
    docs = requests.get(f"{base}/docs", timeout=30)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "/health" in requests.get(f"{base}/openapi.json", timeout=30).json()["paths"]


def test_ui_is_served(stack):
    assert requests.get(f"{stack.ui}/_stcore/health", timeout=30).text.strip() == "ok"
    page = requests.get(stack.ui, timeout=30)
    assert page.status_code == 200 and "streamlit" in page.text.lower()


def test_databases_are_published_on_localhost_only(stack):
    for service, port in (("mysql", "3306"), ("postgres", "5432")):
        published = stack.compose("port", service, port, check=True).stdout.strip()
        assert published.startswith("127.0.0.1:"), (service, published)


def test_python_services_run_as_non_root(stack):
    for service in PYTHON_SERVICES:
        uid = stack.compose("exec", "-T", service, "id", "-u", check=True).stdout.strip()
        assert uid != "0", service


def test_data_database_user_is_confined_to_its_database(stack):
    port = int(os.environ.get("MYSQL_PORT", 3306))
    user, password = os.environ.get("DATA_DB_USER", "mlops"), os.environ.get("DATA_DB_PASSWORD", "mlops")
    data_db, mlflow_db = os.environ.get("DATA_DB_NAME", "mlops_data"), os.environ.get("MLFLOW_DB_NAME", "mlflow")
    conn = pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, database=data_db)
    try:
        with conn.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS e2e_probe (id INT PRIMARY KEY)")
            cursor.execute("DROP TABLE e2e_probe")
            with pytest.raises(pymysql.err.OperationalError) as denied:
                cursor.execute(f"SELECT COUNT(*) FROM `{mlflow_db}`.experiments")
            assert denied.value.args[0] in (1142, 1044)  # command denied / access denied
    finally:
        conn.close()


def test_wrong_mlflow_database_password_is_reported_clearly(stack):
    """A misconfigured backend makes mlflow exit with a reason, not loop silently."""
    result = stack.compose(
        "run",
        "--rm",
        "--no-deps",
        "-e",
        "MLFLOW_DB_PASSWORD=wrong-password",
        "-e",
        "MLFLOW_DB_WAIT_SECONDS=5",
        "mlflow",
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Access denied" in output, output
    assert "MLFLOW_DB_PASSWORD" in output, output
