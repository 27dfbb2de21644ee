from fastapi.testclient import TestClient

from inference.main import create_app
from inference.settings import Settings


def test_health_answers_while_models_are_missing():
    with TestClient(create_app(Settings(models="a-model"))) as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["missing"] == {"a-model": "no production version loaded"}


def test_openapi_lists_the_endpoints():
    with TestClient(create_app()) as client:
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/health", "/ready"} <= set(paths)


def test_model_names_from_environment(monkeypatch):
    monkeypatch.setenv("INFERENCE_MODELS", " x , y ,")
    assert Settings().model_names == ["x", "y"]
