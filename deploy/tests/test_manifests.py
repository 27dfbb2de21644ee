"""The Kubernetes manifests of deploy/kubernetes: valid against Kubernetes' own
schemas (offline, kubernetes-validate), and consistent with each other, with the
services' code and with docker-compose.yaml. No cluster needed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from conftest import K8S, KUBERNETES_VERSION, ROOT, get_routes, healthcheck_url, kustomize, load_documents, pod_templates

# Every file with Kubernetes objects, whether kustomize applies it or an operator
# applies it by hand (the Secret templates). monitoring/ holds the Prometheus
# Operator's custom resources, which are not in Kubernetes' schemas: test_monitoring.py.
MANIFESTS = sorted(p for p in K8S.rglob("*.yaml") if p.name not in ("kustomization.yaml", "values.yaml") and p.parent.name != "monitoring")
# compose service -> (k8s workload and container name, what it may leave out of compose's environment).
SERVICES: dict[str, tuple[str, dict[str, str]]] = {
    "mlflow": (
        "mlflow",
        {
            "PLATFORM_ENV": "compose's start guard (security/check-defaults.sh); here Secrets have no published defaults",
            "INFERENCE_WEBHOOK_SECRET_FILE": "compose generates the webhook secret into a volume; here mlflow-users holds it",
        },
    ),
    "inference": (
        "inference",
        {
            "PREDICTION_LOG_DB_URL": "empty in compose too; the PREDICTIONS_DB_* parts say it, without a password outside the Secret",
            "INFERENCE_WEBHOOK_SECRET_FILE": "compose generates the webhook secret into a volume; here inference-secrets holds it",
        },
    ),
    "ui": ("ui", {}),
    "data_api": ("data-api", {}),
    "quality-exporter": ("quality-exporter", {}),
}
# Compose services with no workload in the kustomize base, and why.
ELSEWHERE = {
    "postgres": "Airflow's metadata database: external, named in airflow/secrets.example.yaml",
    "mysql": "external: the ExternalName Service mysql (external-services.yaml)",
    "minio": "any S3 API, external: the ExternalName Service minio",
    "minio-init": "creates the bucket: an install step on the external S3 (README.md, Install 1)",
    "airflow-init": "the Helm chart's migrate-database job; the data tables and grants: `python -m mlops_pipelines.init_tables` (README.md, Install 5)",
    "airflow-apiserver": "the Helm chart (airflow/values.yaml)",
    "airflow-scheduler": "the Helm chart",
    "airflow-dag-processor": "the Helm chart",
    "airflow-triggerer": "the Helm chart",
    "prometheus": "the cluster's Prometheus Operator, given ServiceMonitors and PrometheusRules (monitoring/, test_monitoring.py)",
}
# Set here and not in compose: the read-only root filesystem's writable places.
K8S_ONLY_ENV = {"TMPDIR", "HOME"}


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    return template["spec"]["containers"] + template["spec"].get("initContainers", [])


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def data_keys(doc: dict[str, Any]) -> set[str]:
    return set(doc.get("data", {})) | set(doc.get("stringData", {}))


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(K8S)))
def test_every_object_is_valid_against_the_kubernetes_schema(path: Path) -> None:
    documents = load_documents(path)
    assert documents, f"{path} holds no object"
    for doc in documents:
        # strict: an unknown (misspelt) field is an error, not ignored.
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_misspelt_field_and_a_wrong_type(base: list[dict[str, Any]]) -> None:
    deployment = yaml.safe_load(yaml.safe_dump(by_kind(base, "Deployment")["inference"]))
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment["spec"].pop("replica")
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8989"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_but_the_secret_templates(kustomization: dict[str, Any]) -> None:
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secrets.example.yaml"}
    assert set(kustomization["resources"]) == files


def test_the_rendered_kustomization_is_valid_and_pins_every_image() -> None:
    """What `kubectl apply -k` would send, rendered by kubectl's own kustomize."""
    rendered = kustomize(K8S)
    documents = [doc for doc in yaml.safe_load_all(rendered) if doc]
    assert len(documents) >= 15
    for doc in documents:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "mlops", doc["metadata"]["name"]
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mlops-platform"
    for name, template in pod_templates(documents):
        for container in containers(template):
            assert re.fullmatch(r"[\w.-]+/mlops-platform/[\w-]+:\d+\.\d+\.\d+", container["image"]), (name, container["image"])


def test_every_image_is_a_platform_image_with_one_pinned_tag(
    base: list[dict[str, Any]], kustomization: dict[str, Any], compose: dict[str, Any], values: dict[str, Any]
) -> None:
    pinned = {image["name"]: image for image in kustomization["images"]}
    used = {c["image"] for _, template in pod_templates(base) for c in containers(template)}
    assert used == set(pinned), "every image the manifests use, and only those, has a pinned tag in kustomization.yaml"
    built = {service["image"].split(":")[0]: name for name, service in compose["services"].items() if "build" in service}
    tags = {image["newTag"] for image in pinned.values()}
    assert len(tags) == 1, f"one platform version for every image, not {tags}"
    (tag,) = tags
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag)
    for name, image in pinned.items():
        assert name in built, f"{name} is not an image docker-compose.yaml builds"
        assert image["newName"].endswith("/" + name)
    # Airflow's release runs the same platform version.
    assert "mlops-platform/airflow" in built
    assert values["images"]["airflow"]["repository"].endswith("/mlops-platform/airflow")
    assert values["images"]["airflow"]["tag"] == values["defaultAirflowTag"] == tag


def test_every_configmap_and_secret_a_pod_reads_exists_with_its_keys(
    base: list[dict[str, Any]], secret_templates: list[dict[str, Any]]
) -> None:
    configmaps = {name: data_keys(doc) for name, doc in by_kind(base, "ConfigMap").items()}
    secrets = {name: data_keys(doc) for name, doc in by_kind(secret_templates, "Secret").items()}
    read: set[str] = set()
    for name, template in pod_templates(base):
        for container in containers(template):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps, (name, source)
                    read.add("ConfigMap/" + source["configMapRef"]["name"])
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, (name, source)
                    read.add("Secret/" + source["secretRef"]["name"])
            for var in container.get("env", []):
                ref = var.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    key = ref["secretKeyRef"]
                    assert key["key"] in secrets.get(key["name"], set()), f"{name}: {var['name']} reads a missing Secret key {key}"
                    read.add("Secret/" + key["name"])
                if "configMapKeyRef" in ref:
                    key = ref["configMapKeyRef"]
                    assert key["key"] in configmaps.get(key["name"], set()), f"{name}: {var['name']} reads a missing ConfigMap key {key}"
                    read.add("ConfigMap/" + key["name"])
    unused = {f"ConfigMap/{n}" for n in configmaps} | {f"Secret/{n}" for n in secrets}
    assert unused - read == set(), "every ConfigMap and Secret template is read by some pod"


def container_env(container: dict[str, Any], base: list[dict[str, Any]], secret_templates: list[dict[str, Any]]) -> set[str]:
    """Every variable a container gets: its env, and every key of its envFrom sources."""
    sources = {("ConfigMap", n): data_keys(d) for n, d in by_kind(base, "ConfigMap").items()}
    sources |= {("Secret", n): data_keys(d) for n, d in by_kind(secret_templates, "Secret").items()}
    names = {var["name"] for var in container.get("env", [])}
    for source in container.get("envFrom", []):
        kind, ref = ("ConfigMap", source["configMapRef"]) if "configMapRef" in source else ("Secret", source["secretRef"])
        names |= sources[(kind, ref["name"])]
    return names


def test_every_compose_service_has_a_workload_here_or_a_stated_place(compose: dict[str, Any], base: list[dict[str, Any]]) -> None:
    services = set(compose["services"])
    assert set(SERVICES) | set(ELSEWHERE) == services, "a compose service added or removed: map it here"
    assert set(SERVICES) & set(ELSEWHERE) == set()
    workloads = {name.split("/")[1] for name, _ in pod_templates(base)}
    assert workloads == {name for name, _ in SERVICES.values()}, "every workload is a compose service's"


@pytest.mark.parametrize("compose_name", sorted(SERVICES))
def test_each_service_gets_the_settings_compose_gives_it(
    compose_name: str, compose: dict[str, Any], base: list[dict[str, Any]], secret_templates: list[dict[str, Any]]
) -> None:
    name, omitted = SERVICES[compose_name]
    (template,) = [t for n, t in pod_templates(base) if n.split("/")[1] == name]
    (container,) = [c for c in template["spec"]["containers"] if c["name"] == name]
    given = container_env(container, base, secret_templates)
    wanted = set(compose["services"][compose_name]["environment"])
    assert set(omitted) <= wanted, "an omission compose no longer has"
    assert wanted - given - set(omitted) == set(), f"{name} misses settings compose gives it"
    assert given - wanted - K8S_ONLY_ENV == set(), f"{name} gets settings compose does not know (misspelt?)"


def test_services_select_pods_and_name_their_ports(base: list[dict[str, Any]]) -> None:
    templates = pod_templates(base)
    for name, service in by_kind(base, "Service").items():
        if service["spec"].get("type") == "ExternalName":
            continue
        selector = service["spec"]["selector"]
        matching = [t for _, t in templates if selector.items() <= t["metadata"]["labels"].items()]
        assert len(matching) == 1, f"Service {name} selects {len(matching)} workloads"
        ports = {p["name"]: p["containerPort"] for c in matching[0]["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, f"Service {name}: no container port {port['targetPort']}"
    for kind in ("Deployment", "StatefulSet"):
        for name, workload in by_kind(base, kind).items():
            assert workload["spec"]["selector"]["matchLabels"].items() <= workload["spec"]["template"]["metadata"]["labels"].items(), name
    statefulsets = by_kind(base, "StatefulSet")
    for name, workload in statefulsets.items():
        assert workload["spec"]["serviceName"] in by_kind(base, "Service"), name


def test_autoscaler_and_disruption_budgets_point_at_workloads(base: list[dict[str, Any]]) -> None:
    deployments = by_kind(base, "Deployment")
    (hpa,) = by_kind(base, "HorizontalPodAutoscaler").values()
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "inference"}
    assert hpa["spec"]["minReplicas"] >= 2, "a replica may die without an outage"
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    # The autoscaler's CPU utilisation is a share of the request: there must be one.
    assert deployments["inference"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    for name, pdb in by_kind(base, "PodDisruptionBudget").items():
        target = deployments[name]
        assert pdb["spec"]["selector"]["matchLabels"] == target["spec"]["selector"]["matchLabels"]
        assert pdb["spec"]["minAvailable"] < target["spec"]["replicas"], f"{name}: the budget would block every drain"


def probe(container: dict[str, Any], kind: str) -> tuple[int, str]:
    get = container[kind]["httpGet"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    return ports.get(get["port"], get["port"]), get["path"]


def the_container(base: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (template,) = [t for n, t in pod_templates(base) if n.split("/")[1] == name]
    return next(c for c in template["spec"]["containers"] if c["name"] == name)


def test_inference_probes_are_its_readiness_and_liveness_routes(base: list[dict[str, Any]], compose: dict[str, Any]) -> None:
    routes = get_routes(*(ROOT / "inference" / "inference" / "routers").glob("*.py"))
    container = the_container(base, "inference")
    port, _ = healthcheck_url(compose["services"]["inference"])
    assert probe(container, "readinessProbe") == (port, "/ready")
    assert probe(container, "livenessProbe") == (port, "/health")
    assert {"/ready", "/health"} <= routes


def test_data_api_probes_are_its_routes(base: list[dict[str, Any]], compose: dict[str, Any]) -> None:
    routes = get_routes(*(ROOT / "data_api" / "data_api" / "routers").glob("*.py"))
    container = the_container(base, "data-api")
    port, path = healthcheck_url(compose["services"]["data_api"])
    assert probe(container, "readinessProbe") == (port, path)
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probe(container, kind)[1] in routes, kind


@pytest.mark.parametrize("name", ["mlflow", "ui", "quality-exporter"])
def test_probes_call_what_the_compose_healthcheck_calls(name: str, base: list[dict[str, Any]], compose: dict[str, Any]) -> None:
    """MLflow's, Streamlit's and prometheus_client's HTTP servers are theirs, not this repository's code."""
    container = the_container(base, name)
    expected = healthcheck_url(compose["services"][name])
    for kind in ("readinessProbe", "livenessProbe"):
        assert probe(container, kind) == expected, kind


def dockerfile_uid(service: str) -> int:
    found = re.search(r"useradd --uid (\d+)", (ROOT / service / "Dockerfile").read_text())
    assert found, service
    return int(found.group(1))


def test_quality_exporter_runs_the_ui_image_with_composes_command(base: list[dict[str, Any]], compose: dict[str, Any]) -> None:
    container = the_container(base, "quality-exporter")
    service = compose["services"]["quality-exporter"]
    assert container["command"] == service["command"]
    assert service["build"]["context"] == "./ui" and container["image"] == "mlops-platform/ui"


def test_pods_run_as_the_images_non_root_user_with_bounded_resources(base: list[dict[str, Any]]) -> None:
    folders = {"mlflow": "mlflow", "inference": "inference", "ui": "ui", "data-api": "data_api", "quality-exporter": "ui"}
    for name, template in pod_templates(base):
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == dockerfile_uid(folders[name.split("/")[1]]), name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        for container in containers(template):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert context["readOnlyRootFilesystem"] is True, name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: a read-only root needs a writable /tmp"


@pytest.mark.parametrize("template", ["secrets.example.yaml", "airflow/secrets.example.yaml"])
def test_secret_templates_hold_only_placeholders(template: str) -> None:
    for secret in load_documents(K8S / template):
        assert "data" not in secret, "plain stringData, so a placeholder stays readable"
        for key, value in secret["stringData"].items():
            if key.endswith(("_USER", "USERNAME")):
                assert "REPLACE_ME" not in value
                continue
            assert "REPLACE_ME_" in value, f"{secret['metadata']['name']}.{key} must be a REPLACE_ME_ placeholder"


def test_addresses_name_the_services_and_ports(base: list[dict[str, Any]]) -> None:
    services = {name: {p["port"] for p in s["spec"]["ports"]} for name, s in by_kind(base, "Service").items()}
    configmaps = by_kind(base, "ConfigMap")
    mlflow = configmaps["mlflow-config"]["data"]
    addresses = [
        configmaps["inference-config"]["data"]["INFERENCE_MLFLOW_TRACKING_URI"],
        configmaps["ui-config"]["data"]["UI_INFERENCE_URL"],
        mlflow["MLFLOW_S3_ENDPOINT_URL"],
        f"mysql://{mlflow['MLFLOW_DB_HOST']}:{mlflow['MLFLOW_DB_PORT']}",
    ]
    inference, monitor = configmaps["inference-config"]["data"], configmaps["monitor-db-config"]["data"]
    addresses += [
        f"mysql://{inference['PREDICTIONS_DB_HOST']}:{inference['PREDICTIONS_DB_PORT']}",
        f"mysql://{monitor['UI_MONITOR_DB_HOST']}:{monitor['UI_MONITOR_DB_PORT']}",
    ]
    for address in addresses:
        host, port = re.fullmatch(r"\w+://(?:[^@/]*@)?([\w.-]+):(\d+)/?", address).groups()  # type: ignore[union-attr]
        assert int(port) in services.get(host, set()), f"{address}: no Service {host} with port {port}"
