"""Security: MLflow needs a login and gives each user its rights, no default secret
survives production mode, each installation has its own Airflow secrets, and the
ports listen on this machine only unless BIND_ADDRESS opens them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import uuid

import pytest
import requests

from e2e.stack import MLFLOW_ADMIN, MLFLOW_READER, OUTPUT, ROOT, wait_for, wait_until

OLD_JWT_SECRET = "change-me-airflow-jwt-secret"  # what docker-compose.yaml used to publish
IMAGE_TAG = os.environ.get("PLATFORM_IMAGE_TAG", "dev")


# -- MLflow: a login for everything, and the reader changes nothing -------------------------


def mlflow_api(stack, method: str, path: str, auth=None, **kwargs) -> requests.Response:
    return requests.request(method, f"{stack.mlflow}/api/2.0/mlflow/{path}", auth=auth, timeout=30, **kwargs)


def test_mlflow_answers_401_without_a_login_and_health_stays_open(stack):
    assert requests.get(f"{stack.mlflow}/health", timeout=30).status_code == 200
    assert mlflow_api(stack, "GET", "experiments/search", params={"max_results": 1}).status_code == 401
    assert mlflow_api(stack, "POST", "experiments/create", json={"name": f"anon-{uuid.uuid4().hex}"}).status_code == 401
    # The probe: a Host header that passes the allowed-hosts check changes nothing.
    probe = mlflow_api(
        stack,
        "POST",
        "registered-models/alias",
        headers={"Host": "localhost:5000"},
        json={"name": "penguins-classifier", "alias": "production", "version": "1"},
    )
    assert probe.status_code == 401
    assert requests.get(stack.mlflow, timeout=30).status_code == 401  # the UI too


def production_version(stack, name: str) -> str:
    answer = mlflow_api(stack, "GET", "registered-models/alias", MLFLOW_ADMIN, params={"name": name, "alias": "production"})
    assert answer.status_code == 200, answer.text
    return answer.json()["model_version"]["version"]


def test_the_inference_user_reads_but_cannot_move_an_alias_or_delete(stack):
    name = "penguins-classifier"
    current = production_version(stack, name)
    reader_view = mlflow_api(stack, "GET", "registered-models/alias", MLFLOW_READER, params={"name": name, "alias": "production"})
    assert reader_view.status_code == 200 and reader_view.json()["model_version"]["version"] == current
    alias = {"name": name, "alias": "production", "version": current}
    assert mlflow_api(stack, "POST", "registered-models/alias", MLFLOW_READER, json=alias).status_code == 403
    assert (
        mlflow_api(stack, "DELETE", "registered-models/alias", MLFLOW_READER, json={"name": name, "alias": "production"}).status_code == 403
    )
    assert mlflow_api(stack, "DELETE", "model-versions/delete", MLFLOW_READER, json={"name": name, "version": current}).status_code == 403
    assert mlflow_api(stack, "DELETE", "registered-models/delete", MLFLOW_READER, json={"name": name}).status_code == 403
    assert production_version(stack, name) == current


def test_inference_runs_as_the_read_only_user(stack):
    env = stack.compose("exec", "-T", "inference", "printenv", "MLFLOW_TRACKING_USERNAME", check=True).stdout.strip()
    assert env == MLFLOW_READER[0]


def serving(stack) -> str:
    from e2e.load import PENGUIN

    return requests.post(f"{stack.inference}/predict/penguins", json=PENGUIN, timeout=30).json()["version"]


def set_production(stack, name: str, version: str) -> None:
    answer = mlflow_api(
        stack, "POST", "registered-models/alias", MLFLOW_ADMIN, json={"name": name, "alias": "production", "version": version}
    )
    assert answer.status_code == 200, answer.text


def test_the_admin_promotes_through_the_rest_api_and_inference_serves_it(stack, penguins_other_version):
    name = "penguins-classifier"
    current = production_version(stack, name)
    other = penguins_other_version
    assert other != current
    try:
        set_production(stack, name, other)
        wait_until(lambda: serving(stack), lambda seen: seen == other, timeout=60, message=f"inference to serve version {other}")
    finally:
        set_production(stack, name, current)
    wait_until(lambda: serving(stack), lambda seen: seen == current, timeout=60, message=f"version {current} back")


def test_the_admin_promotes_in_the_mlflow_ui_in_chromium_and_inference_serves_it(stack, penguins_other_version):
    """The promotion steps of docs/promotion.md, in the browser, after the login MLflow asks for."""
    from playwright.sync_api import sync_playwright

    from ui.page import launch_chromium

    name = "penguins-classifier"
    current = production_version(stack, name)
    other = penguins_other_version
    assert other != current
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            # No login, no UI: Chromium ends the navigation on the 401's challenge.
            from playwright.sync_api import Error as BrowserError

            try:
                anonymous = browser.new_page().goto(stack.mlflow).status
            except BrowserError as exc:
                assert "ERR_INVALID_AUTH_CREDENTIALS" in str(exc), exc
                anonymous = 401
            assert anonymous == 401
            context = browser.new_context(
                http_credentials={"username": MLFLOW_ADMIN[0], "password": MLFLOW_ADMIN[1]}, viewport={"width": 1400, "height": 1000}
            )
            page = context.new_page()
            assert page.goto(f"{stack.mlflow}/#/models/{name}/versions/{other}").status == 200
            promote = page.get_by_role("button", name="Promote model")
            promote.wait_for(timeout=90_000)
            # The pencil beside the version's aliases opens "Add/Edit alias".
            promote.locator("xpath=following::button[1]").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_role("combobox").fill("production")
            dialog.get_by_role("combobox").press("Enter")
            dialog.get_by_role("button", name="Save aliases").click()
            dialog.wait_for(state="hidden", timeout=30_000)
            page.screenshot(path=str(OUTPUT / "mlflow-promoted.png"))
            wait_until(lambda: production_version(stack, name), lambda seen: seen == other, timeout=30, message="the alias to move")
            wait_until(lambda: serving(stack), lambda seen: seen == other, timeout=60, message=f"inference to serve version {other}")
        finally:
            browser.close()
            set_production(stack, name, current)
    wait_until(lambda: serving(stack), lambda seen: seen == current, timeout=60, message=f"version {current} back")


# -- production mode refuses published defaults, each service names the variable ----------


@pytest.mark.parametrize(
    "service, variable",
    [
        ("mysql", "MYSQL_ROOT_PASSWORD"),
        ("postgres", "POSTGRES_PASSWORD"),
        ("minio-init", "MINIO_ROOT_PASSWORD"),
        ("mlflow", "MLFLOW_ADMIN_PASSWORD"),
        ("airflow-init", "AIRFLOW_ADMIN_PASSWORD"),
    ],
)
def test_production_mode_refuses_a_default_secret(stack, service, variable):
    result = stack.compose("run", "--rm", "--no-deps", "-e", "PLATFORM_ENV=production", service, timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"refusing to start: {variable} has its published default value" in output, output


@pytest.mark.parametrize(
    "service, variable", [("mysql", "MYSQL_ROOT_PASSWORD"), ("mlflow", "MLFLOW_ADMIN_PASSWORD"), ("airflow-init", "AIRFLOW_ADMIN_PASSWORD")]
)
def test_a_default_secret_is_a_warning_at_start_outside_production(stack, service, variable):
    if os.environ.get(variable):
        pytest.skip(f"{variable} is set")
    logs = stack.compose("logs", "--no-color", service, check=True).stdout
    assert f"WARNING: {variable} has its published default value" in logs


# -- Airflow: secrets per installation -------------------------------------------------------


def docker(*args: str, timeout: float = 120) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=True).stdout


def fresh_install_secrets(volume: str) -> dict[str, str]:
    """What airflow-init's first step leaves in an empty airflow-secrets volume."""
    image = f"mlops-platform/airflow:{IMAGE_TAG}"
    docker("run", "--rm", "-v", f"{volume}:/opt/airflow/secrets", "--entrypoint", "/opt/airflow/scripts/secrets.sh", image, "generate")
    read = 'cd /opt/airflow/secrets && for f in *; do echo "$f $(cat $f)"; done'
    listing = docker("run", "--rm", "-v", f"{volume}:/opt/airflow/secrets", "--entrypoint", "bash", image, "-c", read)
    return dict(line.split(" ", 1) for line in listing.splitlines())


def test_two_fresh_installations_get_different_secrets_which_stay():
    volumes = [f"e2e-airflow-secrets-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        first, second = (fresh_install_secrets(v) for v in volumes)
        assert set(first) == set(second) == {"fernet_key", "jwt_secret", "api_secret_key"}
        for name in first:
            assert first[name] != second[name], name
            assert len(first[name]) >= 32
        assert first["jwt_secret"] != OLD_JWT_SECRET
        # The next start of the same installation keeps them (the Fernet key must never change).
        assert fresh_install_secrets(volumes[0]) == first
    finally:
        for volume in volumes:
            subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True, timeout=60)


def resigned(token: str, secret: str) -> str:
    """The same header and claims as `token`, signed with `secret` (HS256/384/512)."""
    header_b64, payload_b64, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[header["alg"]]
    signature = hmac.new(secret.encode(), f"{header_b64}.{payload_b64}".encode(), digest).digest()
    return f"{header_b64}.{payload_b64}." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def test_a_token_signed_with_the_old_published_secret_is_refused(stack, airflow_token):
    def dags(token: str) -> requests.Response:
        return requests.get(f"{stack.airflow}/api/v2/dags", headers={"Authorization": f"Bearer {token}"}, timeout=30)

    installed = stack.compose(
        "exec",
        "-T",
        "airflow-apiserver",
        "bash",
        "-c",
        "source /opt/airflow/scripts/secrets.sh && export_secrets && printenv AIRFLOW__API_AUTH__JWT_SECRET",
        check=True,
    ).stdout.strip()
    assert installed and installed != OLD_JWT_SECRET
    # The forgery is otherwise right: signed with this installation's secret, it works.
    assert dags(resigned(airflow_token, installed)).status_code == 200
    # Airflow's api-server answers a token it cannot verify with 403 "Invalid JWT token"
    # (401 is for no token at all): refused either way, and no DAG is listed.
    forged = dags(resigned(airflow_token, OLD_JWT_SECRET))
    assert forged.status_code in (401, 403) and forged.json() == {"detail": "Invalid JWT token"}, forged.text


# -- ports: this machine only, unless BIND_ADDRESS says otherwise ---------------------------


def rendered_ports(env_extra: dict[str, str]) -> dict[tuple[str, str], str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_HOST")} | env_extra
    rendered = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "docker-compose.yaml"), "config", "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return {
        (name, str(port["target"])): port.get("host_ip", "")
        for name, service in json.loads(rendered)["services"].items()
        for port in service.get("ports", [])
    }


def test_every_published_port_binds_to_bind_address_databases_to_their_own():
    databases = {("mysql", "3306"), ("postgres", "5432")}
    default = rendered_ports({})
    published = {("airflow-apiserver", "8080"), ("mlflow", "5000"), ("minio", "9000"), ("minio", "9001"), ("data_api", "8000")}
    published |= {("inference", "8989"), ("ui", "8503"), ("prometheus", "9090")} | databases
    assert set(default) == published and set(default.values()) == {"127.0.0.1"}, default
    opened = rendered_ports({"BIND_ADDRESS": "0.0.0.0"})
    assert {k for k, ip in opened.items() if ip == "0.0.0.0"} == set(opened) - databases
    assert all(opened[k] == "127.0.0.1" for k in databases)


def machine_address() -> str:
    """This machine's own non-loopback IPv4 address (no packet is sent: a UDP socket's
    connect only picks the route's source address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1, only for the routing table
        address = s.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback address")
    return address


def answers(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


def test_with_the_defaults_no_port_answers_on_the_machines_address(stack):
    address = machine_address()
    published = []
    for service, port in [
        ("airflow-apiserver", 8080),
        ("mlflow", 5000),
        ("minio", 9000),
        ("minio", 9001),
        ("data_api", 8000),
        ("inference", 8989),
        ("ui", 8503),
        ("mysql", 3306),
        ("postgres", 5432),
    ]:
        host_port = int(stack.compose("port", service, str(port), check=True).stdout.strip().rsplit(":", 1)[1])
        assert answers("127.0.0.1", host_port) or service == "minio" and port == 9001, (service, port)
        published.append((service, host_port))
    if os.environ.get("BIND_ADDRESS", "127.0.0.1") != "127.0.0.1":
        pytest.skip("BIND_ADDRESS is set for this stack")
    assert [s for s, p in published if answers(address, p)] == []


def test_with_bind_address_0000_the_ports_answer_on_the_machines_address(tmp_path):
    """One small service of the same compose file, under its own project, opened to the network."""
    address = machine_address()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    project = f"e2e-bind-{uuid.uuid4().hex[:6]}"
    compose = ["docker", "compose", "-f", str(ROOT / "docker-compose.yaml"), "-p", project]
    env = {**os.environ, "BIND_ADDRESS": "0.0.0.0", "MINIO_API_PORT": str(port), "MINIO_CONSOLE_PORT": "0"}
    env.pop("COMPOSE_PROJECT_NAME", None)
    try:
        subprocess.run(
            [*compose, "up", "-d", "--wait", "--wait-timeout", "120", "minio"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert wait_for(lambda: answers(address, port), timeout=30, message=f"{address}:{port}")
    finally:
        subprocess.run([*compose, "down", "-v"], env=env, capture_output=True, timeout=300)
