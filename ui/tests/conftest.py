from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from tests.fake_inference import FakeInference, serve

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")


@pytest.fixture
def fake():
    """A real local HTTP server standing in for inference."""
    fake = FakeInference()
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def start_app(monkeypatch):
    """Run the app against an inference URL, as `streamlit run` would (settings from the environment)."""

    def start(url: str) -> AppTest:
        monkeypatch.setenv("UI_INFERENCE_URL", url)
        monkeypatch.setenv("UI_AIRFLOW_URL", "http://airflow.test:8080")
        monkeypatch.setenv("UI_MLFLOW_URL", "http://mlflow.test:5000")
        return AppTest.from_file(APP, default_timeout=30).run()

    return start


@pytest.fixture
def downloads(monkeypatch):
    """The bytes behind each st.download_button, by its URL (AppTest drops its media store after a run)."""
    stores: list[MemoryMediaFileStorage] = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Recording)

    def content(url: str) -> bytes:
        filename = url.rsplit("/", 1)[-1]
        for store in reversed(stores):
            try:
                return store.get_file(filename).content
            except Exception:
                continue
        raise AssertionError(f"no download at {url}")

    return content
