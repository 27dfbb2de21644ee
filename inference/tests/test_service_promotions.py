"""Promotions against a real MLflow server (TEST_MLFLOW_URI) and a real MySQL (TEST_MYSQL_URL).

Two apps on one history database stand for two replicas behind the load balancer.
They poll the registry only once a minute here, so serving a move within seconds
can only come from the webhook, the history watch or the rollback.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
from conftest import log_version, wait_until
from specs import PENGUINS_SPEC
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from test_webhook_signature import delivery

from inference.history import History
from inference.registry import Registry
from inference.rollback import RollbackRefused, rollback
from inference.settings import Settings

pytestmark = pytest.mark.mlflow

CONTRACT = json.loads((Path(__file__).resolve().parents[2] / "contract" / "monitoring-tables.json").read_text())
SECRET = "promotions-test-secret"
SLOW_POLL = 60.0


@pytest.fixture
def history_db():
    """A fresh database with the prediction log's table and view and alias_moves, and a URL of a user with inference's rights."""
    url = os.environ.get("TEST_MYSQL_URL")
    if not url:
        pytest.skip("TEST_MYSQL_URL is not set (scripts/test.sh sets it)")
    admin = create_engine(url)
    name, writer = f"test_{uuid.uuid4().hex[:12]}", f"w_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
        conn.execute(text(f"USE `{name}`"))
        for table in ("prediction_requests", "predictions", "alias_moves"):
            for statement in CONTRACT["tables"][table]["ddl"]:
                conn.execute(text(statement))
        conn.execute(text(f"CREATE USER '{writer}'@'%' IDENTIFIED BY 'pw-{writer}'"))
        # As mlops_pipelines.tables.grant_monitoring grants them.
        conn.execute(text(f"GRANT INSERT ON `{name}`.`prediction_requests` TO '{writer}'@'%'"))
        conn.execute(text(f"GRANT SELECT, INSERT ON `{name}`.`alias_moves` TO '{writer}'@'%'"))
    writer_url = make_url(url).set(database=name, username=writer, password=f"pw-{writer}").render_as_string(hide_password=False)
    try:
        yield writer_url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            conn.execute(text(f"DROP USER IF EXISTS '{writer}'@'%'"))
        admin.dispose()


@pytest.fixture
def model(mlflow_uri):
    """A fresh penguins model with versions 1 and 2, production on 1."""
    from mlflow import MlflowClient

    name = f"t{uuid.uuid4().hex[:8]}-penguins-classifier"
    assert log_version(name, PENGUINS_SPEC, "lr") == "1"
    assert log_version(name, PENGUINS_SPEC, "rf", seed=1) == "2"
    client = MlflowClient()
    client.set_registered_model_alias(name, "production", "1")
    return name, client


@pytest.fixture
def replicas(make_client, history_db, model):
    """start(n, **settings): n apps serving the model, sharing the history database."""
    name, _ = model

    def start(n: int = 2, **extra):
        settings = {"refresh_seconds": SLOW_POLL, "prediction_log": "on", "prediction_log_db_url": history_db, "webhook_secret": SECRET}
        settings["moves_watch_seconds"] = 0.2
        return [make_client(name, **{**settings, **extra}) for _ in range(n)]

    return start


def served(client, name: str) -> str:
    answer = client.get(f"/models/{name}")
    assert answer.status_code == 200, answer.text
    return answer.json()["version"]


def moves(client, name: str) -> list[tuple]:
    answer = client.get(f"/models/{name}/history")
    assert answer.status_code == 200, answer.text
    return [(m["alias"], m["from_version"], m["to_version"], m["path"]) for m in answer.json()["moves"]]


def post_event(client, entity: str, action: str, data: dict, secret: str = SECRET):
    """An event as MLflow posts it, signed as MLflow signs it."""
    body = json.dumps({"entity": entity, "action": action, "timestamp": "2026-01-01T00:00:00+00:00", "data": data}).encode()
    return client.post("/webhooks/mlflow", content=body, headers=delivery(secret, body))


def hook(client, name: str, version: str | None, secret: str = SECRET, alias: str = "production"):
    """What MLflow posts when the alias moves (created) or is removed (deleted)."""
    action = "created" if version is not None else "deleted"
    data = {"name": name, "alias": alias, **({"version": version} if version is not None else {})}
    return post_event(client, "model_version_alias", action, data, secret)


def test_a_first_production_version_is_recorded_once_however_many_replicas_see_it(replicas, model):
    name, _ = model
    first, second = replicas(2)
    assert served(first, name) == served(second, name) == "1"
    assert moves(first, name) == moves(second, name) == [("production", None, "1", "poll")]


def test_a_signed_webhook_reloads_at_once_and_every_replica_follows(replicas, model):
    name, client = model
    receiver, other = replicas(2)
    client.set_registered_model_alias(name, "production", "2")
    moved = time.monotonic()
    answer = hook(receiver, name, "2")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "reloading", "model": name, "alias": "production", "version": "2", "recorded": True}
    wait_until(lambda: served(receiver, name) == "2", timeout=10, interval=0.05, message="the receiving replica on version 2")
    receiver_seconds = time.monotonic() - moved
    wait_until(lambda: served(other, name) == "2", timeout=10, interval=0.05, message="the other replica on version 2")
    other_seconds = time.monotonic() - moved
    # The poll is a minute away: only the push (and the watch) can have done it.
    assert receiver_seconds < 5 and other_seconds < 5, (receiver_seconds, other_seconds)
    assert moves(other, name) == [("production", "1", "2", "webhook"), ("production", None, "1", "poll")]
    # MLflow delivers at least once: a second delivery of the same move records nothing.
    assert hook(other, name, "2").json()["recorded"] is False
    assert len(moves(receiver, name)) == 2


def test_a_forged_or_missing_signature_gets_401_and_changes_nothing(replicas, model):
    name, client = model
    [app] = replicas(1)
    client.set_registered_model_alias(name, "production", "2")
    assert hook(app, name, "2", secret="guessed").status_code == 401
    assert app.post("/webhooks/mlflow", json={"entity": "model_version_alias", "action": "created", "data": {}}).status_code == 401
    time.sleep(2)
    assert served(app, name) == "1"
    assert moves(app, name) == [("production", None, "1", "poll")]


def test_a_move_seen_first_by_polling_is_recorded(replicas, model):
    name, client = model
    [app] = replicas(1, refresh_seconds=0.5)
    client.set_registered_model_alias(name, "production", "2")
    wait_until(lambda: served(app, name) == "2", timeout=30, message="the poll's load of version 2")
    assert moves(app, name) == [("production", "1", "2", "poll"), ("production", None, "1", "poll")]


def test_other_aliases_and_their_removal_are_recorded_and_followed(replicas, model):
    name, client = model
    receiver, other = replicas(2)
    assert other.get(f"/models/{name}", params={"alias": "challenger"}).status_code == 404
    client.set_registered_model_alias(name, "challenger", "2")
    assert hook(receiver, name, "2", alias="challenger").json()["recorded"] is True
    # The other replica forgets what it knew of the alias as soon as the move is in the history.
    wait_until(lambda: other.get(f"/models/{name}", params={"alias": "challenger"}).status_code == 200, timeout=10, message="challenger")
    client.delete_registered_model_alias(name, "challenger")
    assert hook(receiver, name, None, alias="challenger").json()["version"] is None
    assert moves(receiver, name)[:2] == [("challenger", "2", None, "webhook"), ("challenger", None, "2", "webhook")]


def test_a_challenger_moved_by_webhook_is_loaded_for_shadow_scoring_by_every_replica_and_dropped_with_its_alias(replicas, model):
    name, client = model
    receiver, other = replicas(2)

    def challengers() -> list:
        return [app.get(f"/models/{name}/shadow").json()["challenger_version"] for app in (receiver, other)]

    assert challengers() == [None, None]
    client.set_registered_model_alias(name, "challenger", "2")
    moved = time.monotonic()
    assert hook(receiver, name, "2", alias="challenger").json()["status"] == "reloading"
    # The poll is a minute away: the hook (and the other replica's watch of the history) loads it.
    wait_until(lambda: challengers() == ["2", "2"], timeout=10, interval=0.05, message="the challenger on both replicas")
    assert time.monotonic() - moved < 5
    assert served(receiver, name) == served(other, name) == "1"  # production untouched
    client.delete_registered_model_alias(name, "challenger")
    hook(receiver, name, None, alias="challenger")
    wait_until(lambda: challengers() == [None, None], timeout=10, interval=0.05, message="no challenger on either replica")


def test_rollback_puts_the_alias_back_and_every_replica_follows_without_a_hook(replicas, model, history_db, mlflow_uri):
    name, client = model
    first, second = replicas(2)
    client.set_registered_model_alias(name, "production", "2")
    hook(first, name, "2")
    wait_until(lambda: served(first, name) == served(second, name) == "2", timeout=10, message="both on version 2")

    # As scripts/rollback.sh runs it: inference's settings, the registry's admin login (the test's).
    settings = Settings(mlflow_tracking_uri=mlflow_uri, prediction_log_db_url=history_db)
    history = History(settings)
    try:
        done = rollback(settings, history, Registry(settings), name, "production")
        assert (done.from_version, done.to_version) == ("2", "1")
        assert client.get_model_version_by_alias(name, "production").version == "1"
        wait_until(lambda: served(first, name) == served(second, name) == "1", timeout=10, interval=0.05, message="both back on 1")
        # MLflow's own delivery of the move, arriving after: nothing recorded twice.
        assert hook(second, name, "1").json()["recorded"] is False
        assert moves(first, name)[:2] == [("production", "2", "1", "rollback"), ("production", "1", "2", "webhook")]
        # Rolled back again, it goes forward.
        assert rollback(settings, history, Registry(settings), name, "production").to_version == "2"
    finally:
        history.dispose()


def test_rollback_refuses_when_the_history_holds_no_earlier_version_or_lags_the_registry(replicas, model, history_db, mlflow_uri):
    name, client = model
    [app] = replicas(1)
    settings = Settings(mlflow_tracking_uri=mlflow_uri, prediction_log_db_url=history_db)
    history = History(settings)
    try:
        with pytest.raises(RollbackRefused, match="no earlier version"):
            rollback(settings, history, Registry(settings), name, "production")
        history.record(name, "production", "2", "webhook")
        with pytest.raises(RollbackRefused, match="is on version 1 in the registry"):
            rollback(settings, history, Registry(settings), name, "production")
        assert client.get_model_version_by_alias(name, "production").version == "1"
        assert served(app, name) == "1"
    finally:
        history.dispose()


def test_a_new_version_is_loaded_ahead_so_that_promoting_it_is_a_swap(replicas, model):
    name, client = model
    third = log_version(name, PENGUINS_SPEC, "lr", seed=2)
    [app] = replicas(1)

    def loaded() -> list[str]:
        [served_model] = [m for m in app.get("/models").json()["models"] if m["name"] == name]
        return served_model["loaded_versions"]

    assert third not in loaded()
    data = {"name": name, "version": third, "source": f"models:/{name}/{third}", "run_id": None, "tags": {}, "description": None}
    answer = post_event(app, "model_version", "created", data)
    assert answer.json() == {"status": "preloading", "model": name, "alias": None, "version": third, "recorded": False}
    wait_until(lambda: third in loaded(), timeout=30, message=f"version {third} loaded ahead")
    client.set_registered_model_alias(name, "production", third)
    moved = time.monotonic()
    hook(app, name, third)
    wait_until(lambda: served(app, name) == third, timeout=10, interval=0.02, message=f"version {third} served")
    # No download left: asking the registry where production is, then a swap.
    assert time.monotonic() - moved < 2
