"""INFERENCE_API_KEYS: the predict and model routes need a bearer key when keys are set; probes and the signed webhook never do."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from served import penguins_app
from specs import PENGUIN_ROW

from inference.api_keys import key_is_valid, parse_keys
from inference.settings import Settings

# Every predict route, with a body it answers 200 to.
PREDICT_CALLS = [
    ("/predict/penguins", PENGUIN_ROW),
    ("/models/penguins-classifier/predict", PENGUIN_ROW),
    ("/predict", PENGUIN_ROW),
    ("/predict/batch", {"penguins": [PENGUIN_ROW]}),
]
# Every route that reads a model, any version of which it may load (?version=, ?alias=).
MODEL_READS = [
    "/models",
    "/models/penguins-classifier?version=1",
    "/models/penguins-classifier?alias=challenger",
    "/model/info?version=1",
    "/models/penguins-classifier/history",
    "/models/penguins-classifier/shadow",
]
# Probes and metrics, with what each answers when only penguins is served (covertype is not: /ready is 503).
OPEN_CALLS = [("/health", 200), ("/ready", 503), ("/metrics", 200)]


def client(api_keys: str) -> TestClient:
    # A loaded penguins model and no lifespan: no registry is contacted, and a call
    # the key check lets through is answered as it would be in service.
    return TestClient(penguins_app(Settings(api_keys=api_keys)))


def test_keys_are_comma_separated_and_trimmed():
    assert parse_keys(" one, two ,,") == ["one", "two"]
    assert parse_keys("") == []
    assert key_is_valid("two", ["one", "two"]) and not key_is_valid("tw", ["one", "two"])


@pytest.mark.parametrize("path, body", PREDICT_CALLS)
def test_with_keys_a_predict_call_without_a_valid_key_gets_401(path, body):
    app = client("k-one,k-two")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic azpvbmU="}):
        answer = app.post(path, json=body, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"
        [problem] = answer.json()["detail"]
        assert problem["loc"] == ["header", "Authorization"] and "INFERENCE_API_KEYS" in problem["msg"]


@pytest.mark.parametrize("path", MODEL_READS)
def test_with_keys_a_model_read_without_a_valid_key_gets_401_before_anything_loads(path):
    app = client("k-one")
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = app.get(path, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"


def test_with_keys_a_model_read_with_a_key_reaches_the_route():
    # No database behind this app: past the key check, the route itself answers that it keeps no history.
    answer = client("k-one").get("/models/penguins-classifier/history", headers={"Authorization": "Bearer k-one"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"name": "penguins-classifier", "recorded": False, "moves": []}


@pytest.mark.parametrize("path, body", PREDICT_CALLS)
@pytest.mark.parametrize("key", ["k-one", "k-two"])
def test_with_keys_any_configured_key_passes(path, body, key):
    answer = client("k-one,k-two").post(path, json=body, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path, body", PREDICT_CALLS)
def test_without_keys_predict_routes_stay_open(path, body):
    answer = client("").post(path, json=body)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path, status", OPEN_CALLS)
def test_probes_and_metrics_never_need_a_key(path, status):
    answer = client("k-one").get(path)
    assert answer.status_code == status, answer.text


def test_health_answers_without_a_key():
    assert client("k-one").get("/health").json() == {"status": "ok"}


def test_openapi_documents_the_bearer_scheme_on_every_route_but_probes_and_the_webhook():
    schema = client("k-one").get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    secured = {path for path, ops in schema["paths"].items() for op in ops.values() if op.get("security")}
    assert secured == {
        "/predict/{dataset}",
        "/models/{name}/predict",
        "/predict",
        "/predict/batch",
        "/models",
        "/models/{name}",
        "/model/info",
        "/models/{name}/history",
        "/models/{name}/shadow",
    }
    assert set(schema["paths"]) - secured == {"/health", "/ready", "/metrics", "/webhooks/mlflow"}


def test_a_model_mlflow_denies_to_the_reader_counts_as_not_there_yet():
    """Behind MLflow's basic-auth, the read-only user gets 403 for a model not registered yet."""
    from mlflow.exceptions import RestException

    from inference.registry import Registry

    assert Registry._not_found(RestException({"error_code": "PERMISSION_DENIED", "message": "denied"}))
    assert not Registry._not_found(RestException({"error_code": "INTERNAL_ERROR", "message": "boom"}))
