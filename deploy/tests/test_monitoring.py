"""deploy/kubernetes/monitoring: the Prometheus Operator's resources (ServiceMonitor,
PrometheusRule) that stand for compose's `prometheus` service on a cluster.

Their kinds are custom resources, absent from the Kubernetes schemas
kubernetes-validate bundles, so they are checked structurally here: against the
subset of the Operator's CRD schemas they use (unknown fields fail, as with
`strict`), and against what they must agree with: the Services they select,
compose's scrape jobs (prometheus/prometheus.yml) and rule files
(prometheus/rules, which promtool checks in prometheus/tests). No cluster needed.

prometheus-rules.yaml is generated from prometheus/rules:
`UPDATE_RULES=1 pytest tests/test_monitoring.py` rewrites it."""

from __future__ import annotations

import os
import re
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import K8S, ROOT, kustomize, load_documents

MONITORING = K8S / "monitoring"
RULE_FILES = sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
PROMETHEUS_YML = ROOT / "prometheus" / "prometheus.yml"
# What kube-prometheus-stack's Prometheus selects ServiceMonitors and rules by, by default.
RELEASE = "kube-prometheus-stack"


def strict(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


STRING = {"type": "string"}
LABELS = {"type": "object", "additionalProperties": STRING}
METADATA = strict({"name": STRING, "namespace": STRING, "labels": LABELS, "annotations": LABELS}, ("name",))
# The fields used here, as monitoring.coreos.com/v1's CRDs define them (prometheus-operator
# Documentation/api-reference/api.md: ServiceMonitorSpec, Endpoint, RelabelConfig, RuleGroup, Rule).
SCHEMAS = {
    "ServiceMonitor": strict(
        {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "ServiceMonitor"},
            "metadata": METADATA,
            "spec": strict(
                {
                    "selector": strict({"matchLabels": LABELS}, ("matchLabels",)),
                    "endpoints": {
                        "type": "array",
                        "minItems": 1,
                        "items": strict(
                            {
                                "port": STRING,
                                "path": STRING,
                                "interval": {"type": "string", "pattern": r"^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"},
                                "relabelings": {
                                    "type": "array",
                                    "items": strict(
                                        {
                                            "action": {
                                                "enum": ["replace", "Replace", "keep", "Keep", "drop", "Drop", "labelmap", "LabelMap"]
                                            },
                                            "sourceLabels": {"type": "array", "items": STRING},
                                            "targetLabel": STRING,
                                            "replacement": STRING,
                                            "regex": STRING,
                                        }
                                    ),
                                },
                            },
                            ("port",),
                        ),
                    },
                },
                ("selector", "endpoints"),
            ),
        },
        ("apiVersion", "kind", "metadata", "spec"),
    ),
    "PrometheusRule": strict(
        {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "PrometheusRule"},
            "metadata": METADATA,
            "spec": strict(
                {
                    "groups": {
                        "type": "array",
                        "minItems": 1,
                        "items": strict(
                            {
                                "name": STRING,
                                "interval": STRING,
                                "rules": {
                                    "type": "array",
                                    "items": {
                                        "oneOf": [
                                            strict({"record": STRING, "expr": STRING, "labels": LABELS}, ("record", "expr")),
                                            strict(
                                                {"alert": STRING, "expr": STRING, "for": STRING, "labels": LABELS, "annotations": LABELS},
                                                ("alert", "expr"),
                                            ),
                                        ]
                                    },
                                },
                            },
                            ("name", "rules"),
                        ),
                    }
                },
                ("groups",),
            ),
        },
        ("apiVersion", "kind", "metadata", "spec"),
    ),
}


class _Literal(str):
    pass


def _dumper() -> type[yaml.SafeDumper]:
    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Literal, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|"))
    return Dumper


def _literal_multiline(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _literal_multiline(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_literal_multiline(v) for v in node]
    return _Literal(node) if isinstance(node, str) and "\n" in node else node


def render_rules() -> str:
    header = (
        "# GENERATED from prometheus/rules/*.yml by deploy/tests/test_monitoring.py\n"
        "# (UPDATE_RULES=1 pytest tests/test_monitoring.py): edit the rule files, not this.\n"
        "# The rules compose's Prometheus loads, for the Prometheus Operator's Prometheus.\n"
    )
    documents = [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": f"mlops-{path.stem}", "labels": {"release": RELEASE}},
            "spec": {"groups": _literal_multiline(yaml.safe_load(path.read_text())["groups"])},
        }
        for path in RULE_FILES
    ]
    return header + yaml.dump_all(documents, Dumper=_dumper(), sort_keys=False, width=200, explicit_start=False).replace("\n...\n", "\n")


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"] for doc in load_documents(MONITORING / name)]


def test_the_kustomization_lists_every_file() -> None:
    kustomization = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {p.name for p in MONITORING.glob("*.yaml")} - {"kustomization.yaml"}
    assert kustomization["namespace"] == "mlops", "ServiceMonitors select Services of their own namespace"


def test_the_rendered_kustomization_puts_them_in_mlops(resources: list[dict[str, Any]]) -> None:
    rendered = kustomize(MONITORING)
    documents = [doc for doc in yaml.safe_load_all(rendered) if doc]
    assert len(documents) == len(resources)
    for doc in documents:
        jsonschema.validate(doc, SCHEMAS[doc["kind"]])
        assert doc["metadata"]["namespace"] == "mlops"
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mlops-platform"


def test_prometheus_rules_are_the_rule_files_compose_loads() -> None:
    path = MONITORING / "prometheus-rules.yaml"
    if os.environ.get("UPDATE_RULES") == "1":
        path.write_text(render_rules())
    rendered = {doc["metadata"]["name"]: doc["spec"]["groups"] for doc in load_documents(path)}
    expected = {f"mlops-{p.stem}": yaml.safe_load(p.read_text())["groups"] for p in RULE_FILES}
    assert rendered == expected, "prometheus/rules changed: UPDATE_RULES=1 pytest tests/test_monitoring.py"
    assert path.read_text() == render_rules(), "prometheus-rules.yaml is edited by hand: regenerate it"


def test_every_resource_matches_the_operators_schema(resources: list[dict[str, Any]]) -> None:
    kinds = [doc["kind"] for doc in resources]
    assert set(kinds) == set(SCHEMAS)
    for doc in resources:
        jsonschema.validate(doc, SCHEMAS[doc["kind"]])
        assert doc["metadata"]["labels"]["release"] == RELEASE, "one Prometheus selects them all"


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [("ServiceMonitor", ("spec", "endpoints", 0, "relabeling"), []), ("PrometheusRule", ("spec", "groups", 0, "rules", 0, "exp"), "up")],
)
def test_the_schema_rejects_a_misspelt_field(resources: list[dict[str, Any]], kind: str, path: tuple[Any, ...], value: Any) -> None:
    doc = yaml.safe_load(yaml.safe_dump(next(d for d in resources if d["kind"] == kind)))
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMAS[kind])


def compose_jobs() -> dict[str, tuple[str, int]]:
    """Compose's scrape jobs of the platform's services: job -> (DNS name, port)."""
    jobs = {}
    for job in yaml.safe_load(PROMETHEUS_YML.read_text())["scrape_configs"]:
        if job["job_name"] == "prometheus":
            continue  # Prometheus itself: the Operator's own job
        (sd,) = job["dns_sd_configs"]
        (name,) = sd["names"]
        jobs[job["job_name"]] = (name, sd["port"])
    return jobs


def test_service_monitors_scrape_what_compose_scrapes_under_its_job_names(
    resources: list[dict[str, Any]], base: list[dict[str, Any]]
) -> None:
    services = [doc for doc in base if doc["kind"] == "Service" and doc["spec"].get("type") != "ExternalName"]
    scraped = {}
    for monitor in (doc for doc in resources if doc["kind"] == "ServiceMonitor"):
        selector = monitor["spec"]["selector"]["matchLabels"]
        matching = [s for s in services if selector.items() <= s["metadata"].get("labels", {}).items()]
        assert len(matching) == 1, f"ServiceMonitor {monitor['metadata']['name']} selects {len(matching)} Services"
        ports = {p["name"]: p["port"] for p in matching[0]["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in ports, f"{monitor['metadata']['name']}: the Service has no port {endpoint['port']}"
            assert endpoint.get("path", "/metrics") == "/metrics"
            (job,) = [r["replacement"] for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
            scraped[job] = (matching[0]["metadata"]["name"], ports[endpoint["port"]])
    jobs = compose_jobs()
    assert set(scraped) == set(jobs), "every scrape job of prometheus/prometheus.yml, with its name (the rules match it)"
    for job, (service, port) in scraped.items():
        name, compose_port = jobs[job]
        # Compose's service names use _ where a Kubernetes name cannot (data_api -> data-api).
        assert service == name.replace("_", "-") and port == compose_port, (job, service, port)
    # The jobs the rules name are all scraped.
    named = {job for path in RULE_FILES for job in re.findall(r'job=~?"([^"]+)"', path.read_text()) for job in job.split("|")}
    assert named <= set(scraped), named - set(scraped)


def test_prometheus_may_reach_what_it_scrapes_and_the_ui_reaches_it(resources: list[dict[str, Any]], base: list[dict[str, Any]]) -> None:
    """The NetworkPolicies let Prometheus' namespace, the one UI_PROMETHEUS_URL names, in on each scraped port."""
    (ui_config,) = [d for d in base if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "ui-config"]
    found = re.fullmatch(r"http://prometheus-operated\.([\w-]+)\.svc\.cluster\.local:9090", ui_config["data"]["UI_PROMETHEUS_URL"])
    assert found, "UI_PROMETHEUS_URL: the Operator's prometheus-operated Service"
    namespace = found.group(1)
    services = {d["metadata"]["name"]: d for d in base if d["kind"] == "Service"}
    policies = [d for d in base if d["kind"] == "NetworkPolicy"]
    for monitor in (doc for doc in resources if doc["kind"] == "ServiceMonitor"):
        service = services[monitor["metadata"]["name"]]
        target_port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == monitor["spec"]["endpoints"][0]["port"])
        pod_labels = service["spec"]["selector"]
        allowed = [
            rule
            for policy in policies
            if policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
            for rule in policy["spec"]["ingress"]
            if {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}} in rule["from"]
            and {"port": target_port} in rule["ports"]
        ]
        assert allowed, f"no NetworkPolicy lets namespace {namespace} scrape {service['metadata']['name']}:{target_port}"
