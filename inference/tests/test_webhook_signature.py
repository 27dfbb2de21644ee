"""MLflow's webhook signatures, checked against MLflow's own signing code; refused deliveries change nothing."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from mlflow.webhooks.delivery import _generate_hmac_signature
from served import PENGUINS, penguins_app

from inference.promotions import BadSignature, WebhookSecret, sign, verify
from inference.settings import Settings

SECRET = "webhook-secret"


def delivery(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers as MLflow's delivery sends them (mlflow.webhooks.delivery._send_webhook_request)."""
    delivery_id, ts = str(uuid.uuid4()), str(timestamp if timestamp is not None else int(time.time()))
    return {
        "X-MLflow-Delivery-Id": delivery_id,
        "X-MLflow-Timestamp": ts,
        "X-MLflow-Signature": _generate_hmac_signature(secret, delivery_id, ts, body.decode()),
        "Content-Type": "application/json",
    }


def alias_event(name: str = PENGUINS, alias: str = "production", version: str = "2") -> bytes:
    data = {"name": name, "alias": alias, "version": version}
    return json.dumps(
        {"entity": "model_version_alias", "action": "created", "timestamp": "2026-01-01T00:00:00+00:00", "data": data}
    ).encode()


def test_our_signature_is_mlflows():
    body = alias_event()
    assert sign(SECRET, "d-1", "1700000000", body) == _generate_hmac_signature(SECRET, "d-1", "1700000000", body.decode())


def test_a_genuine_delivery_verifies():
    body = alias_event()
    verify(SECRET, {k.lower(): v for k, v in delivery(SECRET, body).items()}, body, 300)


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (
            lambda h, b: (
                {
                    **h,
                    "x-mlflow-signature": _generate_hmac_signature(
                        "guessed", h["x-mlflow-delivery-id"], h["x-mlflow-timestamp"], b.decode()
                    ),
                },
                b,
            ),
            "does not match",
        ),
        (lambda h, b: (h, b.replace(b'"2"', b'"9"')), "does not match"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "x-mlflow-signature"}, b), "missing"),
        (lambda h, b: ({**h, "x-mlflow-delivery-id": "another"}, b), "does not match"),
        (lambda h, b: ({**h, "x-mlflow-timestamp": "soon"}, b), "not a Unix time"),
    ],
)
def test_a_forged_or_altered_delivery_is_refused(tamper, reason):
    body = alias_event()
    headers, body = tamper({k.lower(): v for k, v in delivery(SECRET, body).items()}, body)
    with pytest.raises(BadSignature, match=reason):
        verify(SECRET, headers, body, 300)


def test_a_replayed_old_delivery_is_refused():
    body = alias_event()
    headers = {k.lower(): v for k, v in delivery(SECRET, body, timestamp=int(time.time()) - 3600).items()}
    with pytest.raises(BadSignature, match=r"36\d\d s away"):
        verify(SECRET, headers, body, 300)


def test_without_a_configured_secret_every_delivery_is_refused():
    body = alias_event()
    with pytest.raises(BadSignature, match="no webhook secret"):
        verify("", {k.lower(): v for k, v in delivery("", body).items()}, body, 300)


@pytest.mark.parametrize(
    "headers", [{}, {"X-MLflow-Signature": "v1,AAAA", "X-MLflow-Timestamp": "0", "X-MLflow-Delivery-Id": "x"}, "forged"]
)
def test_the_route_answers_401_and_changes_nothing(headers):
    body = alias_event()
    if headers == "forged":
        headers = delivery("not-the-secret", body)
    app = penguins_app(Settings(webhook_secret=SECRET, api_keys="k-one"))
    client = TestClient(app)
    answer = client.post("/webhooks/mlflow", content=body, headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.json()["detail"][0]["loc"] == ["header", "X-MLflow-Signature"]
    # Still the version it served, and no reload was started.
    assert app.state.serving.store.production[PENGUINS].version == "1"
    assert not getattr(app.state, "reloads", set())


def test_a_signed_event_of_a_model_not_served_is_ignored():
    body = alias_event(name="someone-elses-model")
    answer = TestClient(penguins_app(Settings(webhook_secret=SECRET))).post(
        "/webhooks/mlflow", content=body, headers=delivery(SECRET, body)
    )
    assert answer.status_code == 200 and answer.json()["status"] == "ignored"


def test_without_a_configured_secret_the_installations_file_is_read_once_it_exists(tmp_path):
    path = tmp_path / "inference-webhook-secret"
    secret = WebhookSecret(Settings(webhook_secret="", webhook_secret_file=str(path)))
    assert secret.get() == ""  # mlflow has not written it yet
    path.write_text("generated-secret\n")
    assert secret.get() == "generated-secret"
    path.write_text("another\n")
    assert secret.get() == "generated-secret"  # kept once read
    assert WebhookSecret(Settings(webhook_secret="given", webhook_secret_file=str(path))).get() == "given"


def test_the_route_checks_deliveries_with_the_installations_file(tmp_path):
    path = tmp_path / "inference-webhook-secret"
    app = TestClient(penguins_app(Settings(webhook_secret="", webhook_secret_file=str(path))))
    body = alias_event(name="someone-elses-model")
    assert app.post("/webhooks/mlflow", content=body, headers=delivery("from-file", body)).status_code == 401
    path.write_text("from-file\n")
    assert app.post("/webhooks/mlflow", content=body, headers=delivery("from-file", body)).status_code == 200
