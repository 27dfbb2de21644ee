"""The compose file stands on its own: no .env, no variables, every service defined."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from e2e.stack import ROOT

SERVICES = {
    "postgres",
    "mysql",
    "minio",
    "minio-init",
    "mlflow",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "data_api",
    "inference",
    "ui",
    "prometheus",
    "quality-exporter",
}


@pytest.mark.parametrize("command", [["docker", "compose"], ["docker-compose"]], ids=["compose-v2", "docker-compose"])
def test_config_needs_no_env_file(command, tmp_path):
    if not shutil.which(command[0]):
        pytest.skip(f"{command[0]} is not installed")
    # No .env (an empty one instead of any the checkout has) and no platform variables set.
    empty = tmp_path / "empty.env"
    empty.write_text("")
    base = [*command, "--env-file", str(empty), "-f", str(ROOT / "docker-compose.yaml"), "config"]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_HOST")}
    result = subprocess.run([*base, "--services"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == SERVICES
    rendered = subprocess.run(base, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60).stdout
    assert "mysql:8.4.7" in rendered and "minio/minio:RELEASE.2025-09-07T16-13-09Z" in rendered
    assert "prom/prometheus:v3.5.0" in rendered
    assert "127.0.0.1" in rendered  # databases on localhost only


def test_the_scale_profile_adds_workers_replicas_and_lb_and_changes_nothing_else(tmp_path):
    """docker-compose.scale.yaml on top: three services more, Celery everywhere, one published 8989."""
    if not shutil.which("docker"):
        pytest.skip("docker is not installed")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    default, scaled = render(empty), render(empty, "docker-compose.scale.yaml")
    assert set(scaled["services"]) == SERVICES | {"redis", "airflow-worker", "lb"}
    airflow = [name for name in scaled["services"] if name.startswith("airflow-")]
    for name in airflow:
        env = scaled["services"][name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:change-me-redis@redis:6379/0", name
        # Otherwise the same settings as the default stack's scheduler.
        same = {k: v for k, v in env.items() if not k.startswith(("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CELERY__"))}
        assert (
            same.items()
            <= {**default["services"]["airflow-scheduler"]["environment"], **default["services"]["airflow-init"]["environment"]}.items()
        ), name
    assert default["services"]["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    # Pinned upstream images, non-root, nothing published but the load balancer's port.
    assert scaled["services"]["redis"]["image"] == "redis:7.2-bookworm"
    assert scaled["services"]["lb"]["image"] == "nginx:1.28.0-bookworm"
    assert scaled["services"]["redis"]["user"] == "redis" and scaled["services"]["lb"]["user"] == "nginx"
    assert scaled["services"]["airflow-worker"]["user"] == "50000:0"
    assert not scaled["services"]["redis"].get("ports") and not scaled["services"]["inference"].get("ports")
    assert [(p["host_ip"], p["published"]) for p in scaled["services"]["lb"]["ports"]] == [("127.0.0.1", "8989")]
    assert scaled["services"]["ui"]["environment"]["UI_INFERENCE_URL"] == "http://lb:8989"
    # The broker's password is guarded like every other.
    assert guarded_defaults(scaled)["redis"] == {"REDIS_PASSWORD": "change-me-redis"}


def guarded_defaults(rendered: dict) -> dict[str, dict[str, str]]:
    """Per service, the VAR=published-default pairs its start guard checks."""
    out = {}
    for name, service in rendered["services"].items():
        command = service.get("command") or []
        if command[:1] == ["/opt/platform/check-defaults.sh"]:
            out[name] = dict(arg.split("=", 1) for arg in command[1 : command.index("--")])
    return out


def render(env_file, *overlays: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_HOST")}
    files = [arg for name in ("docker-compose.yaml", *overlays) for arg in ("-f", str(ROOT / name))]
    result = subprocess.run(
        ["docker", "compose", "--env-file", str(env_file), *files, "config", "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def made_env(tmp_path):
    path = tmp_path / ".env"
    subprocess.run([str(ROOT / "scripts" / "make-env.sh")], env={**os.environ, "ENV_FILE": str(path)}, check=True, timeout=60)
    return path


def test_the_guards_know_the_published_defaults(tmp_path):
    """Without .env every guarded variable has exactly the default its guard checks."""
    if not shutil.which("docker"):
        pytest.skip("docker is not installed")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    rendered = render(empty)
    guarded = guarded_defaults(rendered)
    assert set(guarded) == {"postgres", "mysql", "minio-init", "mlflow", "airflow-init"}
    for service, defaults in guarded.items():
        for variable, default in defaults.items():
            value = rendered["services"][service]["environment"][variable]
            # Airflow's signing secrets: what older versions published, refused if set again.
            assert value == ("" if variable.startswith("AIRFLOW__") else default), (service, variable)
    # No signing or encryption secret has a published default.
    airflow_env = rendered["services"]["airflow-apiserver"]["environment"]
    for variable in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        assert airflow_env[variable] == "", variable
    assert rendered["services"]["mlflow"]["environment"]["MLFLOW_FLASK_SERVER_SECRET_KEY"] == ""
    # The webhook secret neither: mlflow generates it into the volume inference reads.
    assert rendered["services"]["mlflow"]["environment"]["INFERENCE_WEBHOOK_SECRET"] == ""
    assert rendered["services"]["inference"]["environment"]["INFERENCE_WEBHOOK_SECRET"] == ""


def test_make_env_replaces_every_default_and_keeps_an_existing_file(made_env):
    if not shutil.which("docker"):
        pytest.skip("docker is not installed")
    # With the scale-out profile: its broker's password too.
    rendered = render(made_env, "docker-compose.scale.yaml")
    assert "redis" in guarded_defaults(rendered)
    for service, defaults in guarded_defaults(rendered).items():
        for variable, default in defaults.items():
            value = rendered["services"][service]["environment"][variable]
            # Airflow's signing secrets stay the installation's generated ones.
            assert value == "" if variable.startswith("AIRFLOW__") else value != default and len(value) >= 32, (service, variable)
    assert rendered["services"]["mysql"]["environment"]["PLATFORM_ENV"] == "production"
    assert oct(made_env.stat().st_mode & 0o777) == "0o600"
    before = made_env.read_text()
    again = subprocess.run(
        [str(ROOT / "scripts" / "make-env.sh")], env={**os.environ, "ENV_FILE": str(made_env)}, capture_output=True, text=True, timeout=60
    )
    assert again.returncode != 0 and "left as it is" in again.stderr
    assert made_env.read_text() == before
    subprocess.run(
        [str(ROOT / "scripts" / "make-env.sh"), "--force"], env={**os.environ, "ENV_FILE": str(made_env)}, check=True, timeout=60
    )
    assert made_env.read_text() != before


def test_the_start_guard_warns_or_refuses_naming_the_variable():
    guard = [str(ROOT / "security" / "check-defaults.sh"), "SECRET_A=published", "SECRET_B=other", "--", "echo", "started"]
    env = {"PATH": os.environ["PATH"], "SECRET_A": "published", "SECRET_B": "chosen"}
    laptop = subprocess.run(guard, env=env, capture_output=True, text=True, timeout=30)
    assert laptop.returncode == 0 and laptop.stdout == "started\n"
    assert "WARNING: SECRET_A has its published default value" in laptop.stderr and "SECRET_B" not in laptop.stderr
    production = subprocess.run(guard, env={**env, "PLATFORM_ENV": "production"}, capture_output=True, text=True, timeout=30)
    assert production.returncode == 1 and production.stdout == ""
    assert "refusing to start: SECRET_A" in production.stderr
    chosen = subprocess.run(
        guard, env={**env, "SECRET_A": "chosen", "PLATFORM_ENV": "production"}, capture_output=True, text=True, timeout=30
    )
    assert chosen.returncode == 0 and chosen.stdout == "started\n" and chosen.stderr == ""


def judge(tmp_path, dependencies: list[dict], ignore: str = "", strict: bool = False) -> subprocess.CompletedProcess:
    report, ignore_file = tmp_path / "report.json", tmp_path / "ignore.txt"
    report.write_text(json.dumps({"dependencies": dependencies}))
    ignore_file.write_text("# id  date  reason\n" + ignore)
    env = {**os.environ, "AUDIT_STRICT": "1" if strict else "0"}
    return subprocess.run(
        [sys.executable, str(ROOT / "security" / "audit_report.py"), "svc", str(report), str(ignore_file)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def vulnerable(vuln_id: str, fixes: list[str], alias: str = "") -> dict:
    return {"name": "pkg", "version": "1.0", "vulns": [{"id": vuln_id, "fix_versions": fixes, "aliases": [alias] if alias else []}]}


def test_the_audit_fails_on_a_fixable_finding_unless_ignored_with_a_reason(tmp_path):
    clean = judge(tmp_path, [{"name": "pkg", "version": "1.0", "vulns": []}])
    assert clean.returncode == 0 and "svc: ok" in clean.stdout
    fixable = judge(tmp_path, [vulnerable("PYSEC-1", ["1.1"])])
    assert fixable.returncode == 1 and "FAIL svc: pkg 1.0: PYSEC-1: fixed in 1.1" in fixable.stdout
    ignored = judge(tmp_path, [vulnerable("PYSEC-1", ["1.1"], alias="CVE-2026-1")], "CVE-2026-1  2026-11-30  breaks the API we use\n")
    assert ignored.returncode == 0 and "ignored svc: pkg 1.0: PYSEC-1: breaks the API we use (ignored since 2026-11-30)" in ignored.stdout
    no_fix = judge(tmp_path, [vulnerable("GHSA-x", [])])
    assert no_fix.returncode == 0 and "no fix yet for svc: pkg 1.0: GHSA-x" in no_fix.stdout
    # A package that could not be looked up is not a clean one: said loudly, a failure when strict.
    unaudited = judge(tmp_path, [{"name": "pkg", "version": "1.0", "skip_reason": "Dependency not found on PyPI"}])
    assert unaudited.returncode == 0 and "WARNING svc: 1 of 1 packages could not be audited (NOT checked" in unaudited.stdout
    strict = judge(tmp_path, [{"name": "pkg", "version": "1.0", "skip_reason": "Dependency not found on PyPI"}], strict=True)
    assert strict.returncode == 1 and "FAIL svc: 1 of 1 packages could not be audited" in strict.stdout
