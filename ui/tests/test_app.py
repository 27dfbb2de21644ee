import http.server
import json
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")


@pytest.fixture
def fake_inference():
    """A real HTTP server standing in for inference (faked at the HTTP boundary)."""
    answers = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = answers[self.path]
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", answers
    server.shutdown()


def run_app(monkeypatch, url):
    monkeypatch.setenv("UI_INFERENCE_URL", url)
    return AppTest.from_file(APP, default_timeout=30).run()


def test_inference_down_gives_a_clear_message(monkeypatch):
    at = run_app(monkeypatch, "http://127.0.0.1:9")
    assert not at.exception
    assert "cannot be reached" in at.error[0].value


def test_no_production_model_yet(monkeypatch, fake_inference):
    url, answers = fake_inference
    answers["/ready"] = (503, {"ready": False, "loaded": {}, "missing": {"penguins-classifier": "no production version loaded"}})
    at = run_app(monkeypatch, url)
    assert not at.exception
    assert "penguins-classifier" in at.warning[0].value


def test_ready_lists_loaded_versions(monkeypatch, fake_inference):
    url, answers = fake_inference
    answers["/ready"] = (200, {"ready": True, "loaded": {"penguins-classifier": 3}, "missing": {}})
    at = run_app(monkeypatch, url)
    assert "penguins-classifier v3" in at.success[0].value
