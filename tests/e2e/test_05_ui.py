"""The UI in a real browser (headless Debian chromium): a person predicts a penguin and a forest cell."""

from __future__ import annotations

import pytest
import requests

from e2e.load import COVER, PENGUIN
from e2e.stack import OUTPUT
from mlflow import MlflowClient
from ui.page import UiPage


@pytest.fixture
def ui(stack, browser):
    assert requests.get(f"{stack.inference}/ready", timeout=10).status_code == 200
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    ui = UiPage(page, stack.ui)
    ui.open()
    yield ui
    page.close()


@pytest.mark.parametrize(
    "dataset, row, name, screenshot",
    [
        ("penguins", PENGUIN, "penguins-classifier", "ui-penguins.png"),
        ("covertype", COVER, "covertype-classifier", "ui-covertype.png"),
    ],
)
def test_a_person_predicts_in_the_browser(stack, ui, dataset, row, name, screenshot):
    production = str(MlflowClient(tracking_uri=stack.mlflow).get_model_version_by_alias(name, "production").version)
    expected = requests.post(f"{stack.inference}/predict/{dataset}", json=row, timeout=30).json()["predictions"][0]["label_name"]
    ui.choose_dataset(dataset)
    ui.fill_form(row)
    result = ui.predict()
    path = ui.screenshot(OUTPUT / screenshot)
    assert result.predicted == expected
    assert result.model == name and result.version == production
    assert path.stat().st_size > 10_000


def test_the_model_tab_shows_the_production_metrics(stack, ui):
    client = MlflowClient(tracking_uri=stack.mlflow)
    production = client.get_model_version_by_alias("penguins-classifier", "production")
    logged = client.get_run(production.run_id).data.metrics
    ui.choose_dataset("penguins")
    ui.open_tab("Model")
    assert ui.headline_metrics() == {"Accuracy": f"{logged['accuracy']:.4f}", "F1 macro": f"{logged['f1_macro']:.4f}"}
