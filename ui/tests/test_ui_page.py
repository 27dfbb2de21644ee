"""The page object (ui.page) against the real app.

Its keys are checked against the app's always. The browser run needs the
`playwright` package and Debian's chromium, and is skipped without them: it
runs `streamlit run` for real against the fake inference server, so it checks
the page object, not the stack (that is the end-to-end test's job).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests import canned
from ui import forms, model_view, monitoring_view, predict_view, sidebar
from ui import page as page_object
from ui.feature_spec import Feature

UI_DIR = Path(__file__).resolve().parents[1]
APP = UI_DIR / "ui" / "app.py"


def test_the_page_object_uses_the_app_keys_and_texts():
    assert page_object.DATASET_KEY == sidebar.DATASET_KEY
    assert page_object.VERSION_KEY == sidebar.VERSION_KEY
    assert page_object.PREDICT_KEY == forms.SUBMIT_KEY
    assert page_object.RESULT_KEY == predict_view.RESULT_KEY
    assert page_object.UNKNOWN_LABEL == forms.UNKNOWN_LABEL
    assert (
        page_object.MODEL_HEADLINE_KEY,
        page_object.MODEL_COMPARISON_KEY,
        page_object.MODEL_RECOMMENDATION_KEY,
        page_object.MODEL_HISTORY_KEY,
    ) == (model_view.HEADLINE_KEY, model_view.COMPARISON_KEY, model_view.RECOMMENDATION_KEY, model_view.HISTORY_KEY)
    assert page_object.MONITORING_REFRESH_KEY == monitoring_view.REFRESH_KEY
    assert page_object.MONITORING_SOURCE_KEY == monitoring_view.SOURCE_KEY
    assert page_object.MONITORING_KEYS == (
        monitoring_view.TRAFFIC_KEY,
        monitoring_view.CLASS_MIX_KEY,
        monitoring_view.QUALITY_KEY,
        monitoring_view.DRIFT_KEY,
        monitoring_view.TRIGGERS_KEY,
    )
    page = page_object.UiPage.__new__(page_object.UiPage)
    for name in ("island", "Hillshade_9am", "a b/c"):
        assert page.feature_key(name) == forms.widget_key(Feature(name, "numeric", "number"))
    result = canned.predictor(canned.PENGUINS)(canned.Request("POST", "", {}, canned.PENGUINS_EXAMPLE[0]))[1]
    from ui.inference_client import Prediction, PredictionResult

    typed = PredictionResult(result["model"], result["version"], [Prediction(**result["predictions"][0])])
    assert page_object._PREDICTED.search(predict_view.predicted_text(typed)).group(1) == "Adélie penguin"
    assert page_object._ANSWERED_BY.search(predict_view.answered_by_text(typed)).groups() == ("penguins-classifier", "3")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sync_api():
    """Playwright's sync API, with Debian's chromium; the test is skipped without them."""
    api = pytest.importorskip("playwright.sync_api")
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Debian's chromium is not installed")
    return api


@pytest.fixture
def running_ui(fake, tmp_path):
    canned.serve_models(fake)
    port = _free_port()
    env = {**os.environ, "UI_INFERENCE_URL": fake.url, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = open(tmp_path / "streamlit.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.headless", "true"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=UI_DIR,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("streamlit did not start: " + (tmp_path / "streamlit.log").read_text())
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_the_page_object_drives_the_app_in_chromium(sync_api, running_ui, fake, tmp_path):
    out = Path(os.environ.get("TEST_OUTPUT_DIR") or tmp_path)
    moves = [
        {"alias": "production", "from_version": frm, "to_version": to, "path": path, "moved_at": at}
        for frm, to, path, at in (("4", "3", "rollback", "2026-12-02T14:01:00Z"), ("3", "4", "webhook", "2026-12-02T14:00:00Z"))
    ]
    fake.on("GET", f"/models/{canned.COVERTYPE}/history", (200, {"name": canned.COVERTYPE, "recorded": True, "moves": moves}))
    with sync_api.sync_playwright() as p:
        browser = page_object.launch_chromium(p)
        try:
            ui = page_object.UiPage(browser.new_page(viewport={"width": 1400, "height": 1000}), running_ui)
            ui.open()
            ui.choose_dataset("penguins")
            ui.fill_form(
                {
                    "island": "Biscoe",
                    "bill_length_mm": 46.1,
                    "bill_depth_mm": 13.2,
                    "flipper_length_mm": 211,
                    "body_mass_g": 4500,
                    "sex": None,
                }
            )
            result = ui.predict()
            assert (result.predicted, result.model, result.version, result.confidence) == (
                "Gentoo penguin",
                "penguins-classifier",
                "3",
                97.0,
            )
            assert fake.sent("POST", f"/models/{canned.PENGUINS}/predict")[-1].body == {
                "island": "Biscoe",
                "bill_length_mm": 46.1,
                "bill_depth_mm": 13.2,
                "flipper_length_mm": 211.0,
                "body_mass_g": 4500.0,
                "sex": None,
            }
            ui.screenshot(out / "ui-page-penguins.png")

            ui.choose_dataset("covertype")
            ui.choose_version("version 2")
            ui.fill_form({**canned.COVERTYPE_EXAMPLE[0], "Elevation": 3200, "Soil_Type": "C7746"})
            result = ui.predict()
            assert (result.predicted, result.model, result.version) == ("Spruce/Fir", "covertype-classifier", "2")
            sent = fake.sent("POST", f"/models/{canned.COVERTYPE}/predict")[-1]
            assert sent.query == {"version": "2"}
            assert sent.body == {**canned.COVERTYPE_EXAMPLE[0], "Elevation": 3200, "Soil_Type": "C7746"}
            ui.screenshot(out / "ui-page-covertype.png")
            ui.open_tab("Model")
            assert ui.alias_history() == [
                ["2026-12-02 14:01:00", "production", "4", "3", "rollback"],
                ["2026-12-02 14:00:00", "production", "3", "4", "MLflow's webhook"],
            ]
            ui.open_tab("Predict")

            fake.on(
                "POST",
                f"/models/{canned.COVERTYPE}/predict",
                (422, {"detail": [canned.problem("Soil_Type", "'C9999' is not one of: C2702")]}),
            )
            with pytest.raises(AssertionError, match="is not one of"):
                ui.predict()
        finally:
            browser.close()
