"""Property-based fuzz of the OpenAPI schema: no endpoint answers 5xx, whatever it is sent."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import requests
import uvicorn
from conftest import wait_until
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.mlflow


@pytest.fixture(scope="module")
def served_app(registered, mlflow_uri):
    """The app behind a real uvicorn server, its production models loaded."""
    from inference.main import create_app
    from inference.settings import Settings

    names = registered["names"]
    app = create_app(
        Settings(
            mlflow_tracking_uri=mlflow_uri,
            models=f"{names['penguins']},{names['covertype']}",
            refresh_seconds=1,
            penguins_model=names["penguins"],
            covertype_model=names["covertype"],
            prediction_log="off",
        )
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return requests.get(f"{base}/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(ready, timeout=60, message="inference to become ready")
    yield base
    server.should_exit = True
    thread.join(10)


def test_no_endpoint_answers_5xx(served_app, registered):
    """schemathesis (its CLI: its pytest plugin does not load under pytest 9) over every operation."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{served_app}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "40",
            "--seed",
            "1",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # It did exercise the predict operations, with bodies that fit and ones that do not.
    for operation in ("POST /models/{name}/predict", "POST /predict/{dataset}", "POST /predict", "POST /predict/batch", "GET /model/info"):
        assert operation in result.stdout, operation
    # Bodies generated from the models' row schemas got past the validator to a model.
    # (Which model is a matter of the draw: a row must also meet its own model's
    # name in the path, and most drawn version/alias values name no version.)
    predicted: Counter[str] = Counter()
    for family in text_string_to_metric_families(requests.get(f"{served_app}/metrics", timeout=10).text):
        if family.name == "inference_predictions":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    predicted[sample.labels["model"]] += sample.value
    assert sum(predicted.values()) > 0 and set(predicted) <= set(registered["names"].values()), predicted
