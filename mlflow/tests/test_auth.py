"""MLflow behind its basic-auth app: the platform's users and what each may do."""

from __future__ import annotations

import os
import uuid

import pytest
import requests

import start_server
from start_server import User

ADMIN = (os.environ.get("MLFLOW_ADMIN_USER", "admin"), os.environ.get("MLFLOW_ADMIN_PASSWORD", "change-me-mlflow-admin"))
AIRFLOW = (os.environ.get("MLFLOW_AIRFLOW_USER", "airflow"), os.environ.get("MLFLOW_AIRFLOW_PASSWORD", "change-me-mlflow-airflow"))
READER = (os.environ.get("MLFLOW_READER_USER", "reader"), os.environ.get("MLFLOW_READER_PASSWORD", "change-me-mlflow-reader"))


def stored(uri: str):
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore()
    store.init_db(uri)
    return store


def test_users_are_created_then_follow_the_environment(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path}/auth.db"
    start_server.sync_users(uri, [User("admin", "first-admin-pw", is_admin=True), User("reader", "first-reader-pw")])
    store = stored(uri)
    assert store.authenticate_user("admin", "first-admin-pw") and store.get_user("admin").is_admin
    assert store.authenticate_user("reader", "first-reader-pw") and not store.get_user("reader").is_admin
    assert "created MLflow user 'reader'" in capsys.readouterr().err

    # A changed password (and admin flag) in the environment wins at the next start.
    start_server.sync_users(uri, [User("admin", "first-admin-pw", is_admin=True), User("reader", "second-reader-pw", is_admin=True)])
    store = stored(uri)
    assert not store.authenticate_user("reader", "first-reader-pw")
    assert store.authenticate_user("reader", "second-reader-pw") and store.get_user("reader").is_admin
    err = capsys.readouterr().err
    assert "updated the password and admin flag of MLflow user 'reader'" in err and "'admin'" not in err


def test_a_password_mlflow_refuses_stops_the_start(tmp_path):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="at least 12"):
        start_server.sync_users(f"sqlite:///{tmp_path}/auth.db", [User("admin", "short", is_admin=True)])


def test_only_the_duplicate_foreign_key_is_renamed():
    create = (
        "\nCREATE TABLE registered_model_permissions (\n\tid INTEGER NOT NULL AUTO_INCREMENT, \n\t"
        "CONSTRAINT fk_user_id FOREIGN KEY(user_id) REFERENCES users (id), \n\tCONSTRAINT unique_name_user UNIQUE (name, user_id)\n)"
    )
    renamed = start_server.rename_duplicate_foreign_key(create)
    assert "fk_user_id" not in renamed and "fk_registered_model_perm_user_id" in renamed
    other = create.replace("registered_model_permissions", "experiment_permissions")
    assert start_server.rename_duplicate_foreign_key(other) == other


def test_auth_config_names_the_database_and_read_as_default(tmp_path, monkeypatch):
    from mlflow.server.auth.config import read_auth_config

    path = start_server.write_auth_config("mysql+pymysql://u:p%40ss@mysql:3306/mlflow_auth?charset=utf8mb4")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    monkeypatch.setenv("MLFLOW_AUTH_CONFIG_PATH", path)
    config = read_auth_config()
    assert config.database_uri == "mysql+pymysql://u:p%40ss@mysql:3306/mlflow_auth?charset=utf8mb4"
    assert config.default_permission == "READ"
    assert config.auth_cache_ttl_seconds == 60


# -- against the real server (scripts/test.sh starts it with the compose file's users) --------


@pytest.fixture(scope="module")
def api():
    uri = os.environ.get("TEST_MLFLOW_URI")
    if not uri:
        pytest.skip("TEST_MLFLOW_URI is not set (scripts/test.sh starts a real MLflow server and sets it)")

    def call(method: str, path: str, auth, **kwargs) -> requests.Response:
        return requests.request(method, f"{uri}/api/2.0/mlflow/{path}", auth=auth, timeout=30, **kwargs)

    return call


def test_health_is_open_and_everything_else_needs_a_login(api):
    assert requests.get(os.environ["TEST_MLFLOW_URI"] + "/health", timeout=30).status_code == 200
    assert api("GET", "experiments/search", None, params={"max_results": 1}).status_code == 401
    assert api("GET", "experiments/search", (ADMIN[0], "wrong-password!"), params={"max_results": 1}).status_code == 401
    assert api("POST", "experiments/create", None, json={"name": f"anon-{uuid.uuid4().hex}"}).status_code == 401


def test_airflow_registers_and_sets_the_first_alias_the_reader_may_only_read(api):
    name = f"auth-test-{uuid.uuid4().hex[:8]}"
    experiment = api("POST", "experiments/create", AIRFLOW, json={"name": name})
    assert experiment.status_code == 200, experiment.text
    experiment_id = experiment.json()["experiment_id"]
    run = api("POST", "runs/create", AIRFLOW, json={"experiment_id": experiment_id})
    assert run.status_code == 200, run.text
    run_id = run.json()["run"]["info"]["run_id"]
    assert api("POST", "runs/log-metric", AIRFLOW, json={"run_id": run_id, "key": "f1", "value": 0.9, "timestamp": 0}).status_code == 200
    assert api("POST", "registered-models/create", AIRFLOW, json={"name": name}).status_code == 200
    version = api("POST", "model-versions/create", AIRFLOW, json={"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id})
    assert version.status_code == 200, version.text
    alias = {"name": name, "alias": "production", "version": version.json()["model_version"]["version"]}
    assert api("POST", "registered-models/alias", AIRFLOW, json=alias).status_code == 200

    # The reader sees all of it, and can change none of it.
    assert api("GET", "registered-models/alias", READER, params={"name": name, "alias": "production"}).status_code == 200
    assert api("GET", "runs/get", READER, params={"run_id": run_id}).status_code == 200
    assert api("POST", "registered-models/alias", READER, json=alias).status_code == 403
    assert api("DELETE", "registered-models/alias", READER, json={"name": name, "alias": "production"}).status_code == 403
    assert api("DELETE", "model-versions/delete", READER, json={"name": name, "version": alias["version"]}).status_code == 403
    assert api("DELETE", "registered-models/delete", READER, json={"name": name}).status_code == 403
    assert api("POST", "experiments/delete", READER, json={"experiment_id": experiment_id}).status_code == 403
    assert api("POST", "runs/log-metric", READER, json={"run_id": run_id, "key": "f1", "value": 0.1, "timestamp": 0}).status_code == 403
    # The admin promotes (people, in the UI or through the API).
    assert api("POST", "registered-models/alias", ADMIN, json={**alias, "alias": "challenger"}).status_code == 200
