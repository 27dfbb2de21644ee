"""deploy/kubernetes/airflow/values.yaml, the values for Airflow's official Helm
chart: everything docker-compose.yaml gives the platform's Airflow is there, and
every Secret it names is templated with the key the chart reads.

The chart's own values.schema.json is not checked here: the chart is not on a
package registry this CI reaches (`helm lint` with the chart is the check for
that; see deploy/kubernetes/README.md)."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
from conftest import K8S, ROOT, load_documents

# Compose's Airflow settings the chart sets from its own keys (value path in values.yaml).
FROM_CHART_KEYS = {
    "AIRFLOW__CORE__EXECUTOR": "executor",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "data.metadataSecretName",
    "AIRFLOW__CORE__FERNET_KEY": "fernetKeySecretName",
    "AIRFLOW__API_AUTH__JWT_SECRET": "jwtSecretName",
    "AIRFLOW__API__SECRET_KEY": "apiSecretKeySecretName",
}
# Set by the chart itself, from its own Services.
SET_BY_THE_CHART = {
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "the chart points tasks at its api-server Service",
}
# Secret-name values and the key the chart reads from each Secret.
CHART_SECRETS = {
    "data.metadataSecretName": "connection",
    "data.resultBackendSecretName": "connection",
    "data.brokerUrlSecretName": "connection",
    "fernetKeySecretName": "fernet-key",
    "jwtSecretName": "jwt-secret",
    "apiSecretKeySecretName": "api-secret-key",
    "redis.passwordSecretName": "password",
}


def lookup(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        node = node[part]
    return node


def test_celery_executor_with_the_platform_image_and_dags_baked_in(values: dict[str, Any]) -> None:
    assert values["executor"] == "CeleryExecutor"
    assert values["dags"]["gitSync"]["enabled"] is False
    assert values["dags"]["persistence"]["enabled"] is False
    assert values["postgresql"]["enabled"] is False, "PostgreSQL is external, from the airflow-metadata Secret"
    assert values["workers"]["celery"]["replicas"] >= 2


def test_the_airflow_version_is_the_images(values: dict[str, Any]) -> None:
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "airflow" / "requirements.in").read_text(), re.M)
    assert pinned and values["airflowVersion"] == pinned.group(1)


def test_every_airflow_setting_of_compose_is_in_the_values(values: dict[str, Any], compose: dict[str, Any]) -> None:
    wanted = set(compose["x-airflow-common"]["environment"])
    env = {var["name"] for var in values["env"]}
    from_secrets = {var["envName"] for var in values["secret"]}
    missing = []
    for name in sorted(wanted):
        if name in env or name in from_secrets or name in SET_BY_THE_CHART:
            continue
        if name in FROM_CHART_KEYS:
            assert lookup(values, FROM_CHART_KEYS[name]), name
            continue
        section = re.fullmatch(r"AIRFLOW__([A-Z_]+?)__([A-Z_]+)", name)
        if section and section.group(2).lower() in values["config"].get(section.group(1).lower(), {}):
            continue
        missing.append(name)
    assert missing == [], "docker-compose.yaml gives Airflow these, values.yaml does not"
    # Nothing set twice (an env var would silently win over config).
    assert env & from_secrets == set()
    assert not any(name.startswith("AIRFLOW__") for name in env | from_secrets), "Airflow settings go under `config`"


def test_every_secret_the_values_name_is_templated_with_the_charts_key(values: dict[str, Any]) -> None:
    templates = {doc["metadata"]["name"]: set(doc["stringData"]) for doc in load_documents(K8S / "airflow" / "secrets.example.yaml")}
    named = set()
    for path, key in CHART_SECRETS.items():
        name = lookup(values, path)
        assert key in templates.get(name, set()), f"{path}: Secret {name} with key {key!r} is not in airflow/secrets.example.yaml"
        named.add(name)
    for var in values["secret"]:
        assert var["secretKey"] in templates.get(var["secretName"], set()), var
        named.add(var["secretName"])
    assert named == set(templates), "every template is one the values name"


@pytest.mark.parametrize(
    ("variable", "service"),
    [("AIRFLOW_CONN_DATA_API", "data-api"), ("MLFLOW_TRACKING_URI", "mlflow")],
)
def test_the_tasks_addresses_are_the_mlops_namespaces_services(
    variable: str, service: str, values: dict[str, Any], base: list[dict[str, Any]]
) -> None:
    address = next(var["value"] for var in values["env"] if var["name"] == variable)
    host, port = re.fullmatch(r"http://([\w.-]+):(\d+)", address).groups()  # type: ignore[union-attr]
    (target,) = [doc for doc in base if doc["kind"] == "Service" and doc["metadata"]["name"] == service]
    assert host == f"{service}.mlops.svc.cluster.local"
    assert int(port) in {p["port"] for p in target["spec"]["ports"]}


def test_the_data_tables_connection_goes_through_the_mysql_service(base: list[dict[str, Any]]) -> None:
    (secret,) = [
        doc for doc in load_documents(K8S / "airflow" / "secrets.example.yaml") if doc["metadata"]["name"] == "airflow-platform-connections"
    ]
    host, port = re.fullmatch(r"mysql://[^@]+@([\w.-]+):(\d+)/mlops_data", secret["stringData"]["AIRFLOW_CONN_MLOPS_DATA"]).groups()  # type: ignore[union-attr]
    (mysql,) = [doc for doc in base if doc["kind"] == "Service" and doc["metadata"]["name"] == "mysql"]
    assert host == "mysql.mlops.svc.cluster.local"
    assert int(port) in {p["port"] for p in mysql["spec"]["ports"]}


def test_mlflow_accepts_the_host_names_its_clients_call_it_by(values: dict[str, Any], base: list[dict[str, Any]]) -> None:
    """MLflow answers only Host headers in MLFLOW_ALLOWED_HOSTS (`*` a wildcard):
    inference calls it by the Service's short name, Airflow's tasks from their own namespace."""
    configmaps = {doc["metadata"]["name"]: doc["data"] for doc in base if doc["kind"] == "ConfigMap"}
    allowed = configmaps["mlflow-config"]["MLFLOW_ALLOWED_HOSTS"].split(",")
    callers = [
        configmaps["inference-config"]["INFERENCE_MLFLOW_TRACKING_URI"],
        next(v["value"] for v in values["env"] if v["name"] == "MLFLOW_TRACKING_URI"),
    ]
    for uri in callers:
        host = uri.split("://", 1)[1].rstrip("/")
        assert any(fnmatch.fnmatchcase(host, pattern) for pattern in allowed), f"{host} is not in MLFLOW_ALLOWED_HOSTS"


def test_the_charts_pods_run_non_root_without_privilege_escalation(values: dict[str, Any]) -> None:
    for owner, contexts in [("global", values["securityContexts"]), ("redis", values["redis"]["securityContexts"])]:
        assert contexts["pod"]["runAsNonRoot"] is True, owner
        assert contexts["pod"]["runAsUser"] != 0, owner
        assert contexts["container"]["allowPrivilegeEscalation"] is False, owner
        assert contexts["container"]["capabilities"]["drop"] == ["ALL"], owner
    # The platform image's user (airflow/Dockerfile: useradd --uid 50000 --gid 0).
    assert (
        (values["uid"], values["gid"])
        == (50000, 0)
        == (values["securityContexts"]["pod"]["runAsUser"], values["securityContexts"]["pod"]["runAsGroup"])
    )
    assert "--uid 50000 --gid 0" in (ROOT / "airflow" / "Dockerfile").read_text()
