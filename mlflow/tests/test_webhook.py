"""The alias webhook start_server.py registers: one, idempotent, readable by every worker and start."""

from __future__ import annotations

import os

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

import start_server

ADMIN = (os.environ.get("MLFLOW_ADMIN_USER", "admin"), os.environ.get("MLFLOW_ADMIN_PASSWORD", "change-me-mlflow-admin"))
# The REST API names them in capitals (its protobuf enums).
EVENTS = [
    {"entity": "MODEL_VERSION", "action": "CREATED"},
    {"entity": "MODEL_VERSION_ALIAS", "action": "CREATED"},
    {"entity": "MODEL_VERSION_ALIAS", "action": "DELETED"},
]


def test_the_encryption_key_is_a_fernet_key_that_follows_the_secret():
    key = start_server.webhook_encryption_key("one")
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"
    assert key == start_server.webhook_encryption_key("one") != start_server.webhook_encryption_key("two")


def active(uri: str):
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(uri)
    try:
        return [w for w in store.list_webhooks() if w.name == start_server.WEBHOOK_NAME]
    finally:
        store.engine.dispose()


def test_registered_once_updated_in_place_retired_when_unreadable_and_removed_without_a_url(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https")
    monkeypatch.setenv("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    start_server.sync_webhook(uri, "http://inference:8989/webhooks/mlflow", "first")
    start_server.sync_webhook(uri, "http://inference:8989/webhooks/mlflow", "second")
    [hook] = active(uri)
    assert hook.url == "http://inference:8989/webhooks/mlflow" and hook.secret == "second"
    assert sorted((e.entity.value, e.action.value) for e in hook.events) == [
        ("model_version", "created"),
        ("model_version_alias", "created"),
        ("model_version_alias", "deleted"),
    ]
    assert "registered" in capsys.readouterr().err

    # A secret stored under another key (the secret changed): retired, made anew, still one.
    engine = create_engine(uri)
    with engine.begin() as conn:
        conn.execute(text("UPDATE webhooks SET secret = :garbage"), {"garbage": Fernet(Fernet.generate_key()).encrypt(b"old").decode()})
    engine.dispose()
    start_server.sync_webhook(uri, "http://lb:8989/webhooks/mlflow", "third")
    [hook] = active(uri)
    assert (hook.url, hook.secret) == ("http://lb:8989/webhooks/mlflow", "third") and hook.webhook_id
    assert "retiring it" in capsys.readouterr().err

    start_server.sync_webhook(uri, "", "")
    assert active(uri) == []


def test_the_running_server_has_exactly_one_alias_webhook_its_workers_can_read():
    uri = os.environ.get("TEST_MLFLOW_URI")
    if not uri:
        pytest.skip("TEST_MLFLOW_URI is not set (scripts/test.sh starts a real MLflow server and sets it)")
    # Several calls: each worker process must decrypt the stored secret with the same key.
    for _ in range(6):
        answer = requests.get(f"{uri}/api/2.0/mlflow/webhooks", auth=ADMIN, timeout=30)
        assert answer.status_code == 200, answer.text
        ours = [w for w in answer.json().get("webhooks", []) if w["name"] == start_server.WEBHOOK_NAME]
        assert len(ours) == 1, answer.json()
        assert sorted(ours[0]["events"], key=lambda e: (e["entity"], e["action"])) == EVENTS
        assert ours[0]["status"] == "ACTIVE"


def test_the_installation_secret_is_generated_once_and_a_given_one_wins(tmp_path, capsys):
    path = str(tmp_path / "inference-webhook-secret")
    first = start_server.installation_webhook_secret("", path)
    assert len(first) >= 32 and "generated" in capsys.readouterr().err
    assert start_server.installation_webhook_secret("", path) == first  # every later start
    assert open(path).read().strip() == first
    assert start_server.installation_webhook_secret("chosen", path) == "chosen"
    other = str(tmp_path / "elsewhere")
    assert start_server.installation_webhook_secret("", other) != first  # another installation
