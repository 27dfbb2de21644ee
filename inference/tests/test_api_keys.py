"""INFERENCE_API_KEYS: the predict routes need a bearer key when keys are set; probes never do."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from inference.api_keys import key_is_valid, parse_keys
from inference.main import create_app
from inference.settings import Settings

PREDICT_CALLS = [
    ("/predict/penguins", {}),
    ("/models/penguins-classifier/predict", {}),
    ("/predict", {}),
    ("/predict/batch", {"penguins": []}),
]
OPEN_CALLS = ["/health", "/ready", "/metrics"]


def client(api_keys: str) -> TestClient:
    # No lifespan (no `with`): no registry is contacted. A call the key check lets
    # through then fails inside the route (500), which is not a 401.
    return TestClient(create_app(Settings(api_keys=api_keys)), raise_server_exceptions=False)


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


@pytest.mark.parametrize("path, body", PREDICT_CALLS)
@pytest.mark.parametrize("key", ["k-one", "k-two"])
def test_with_keys_any_configured_key_passes(path, body, key):
    assert client("k-one,k-two").post(path, json=body, headers={"Authorization": f"Bearer {key}"}).status_code != 401


@pytest.mark.parametrize("path, body", PREDICT_CALLS)
def test_without_keys_predict_routes_stay_open(path, body):
    assert client("").post(path, json=body).status_code != 401


@pytest.mark.parametrize("path", OPEN_CALLS)
def test_probes_and_metrics_never_need_a_key(path):
    assert client("k-one").get(path).status_code != 401


def test_health_answers_without_a_key():
    assert client("k-one").get("/health").json() == {"status": "ok"}


def test_openapi_documents_the_bearer_scheme_on_predict_routes_only():
    schema = client("k-one").get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    secured = {path for path, ops in schema["paths"].items() for op in ops.values() if op.get("security")}
    assert secured == {"/predict/{dataset}", "/models/{name}/predict", "/predict", "/predict/batch"}


def test_a_model_mlflow_denies_to_the_reader_counts_as_not_there_yet():
    """Behind MLflow's basic-auth, the read-only user gets 403 for a model not registered yet."""
    from mlflow.exceptions import RestException

    from inference.registry import Registry

    assert Registry._not_found(RestException({"error_code": "PERMISSION_DENIED", "message": "denied"}))
    assert not Registry._not_found(RestException({"error_code": "INTERNAL_ERROR", "message": "boom"}))
