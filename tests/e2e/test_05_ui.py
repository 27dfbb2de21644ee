"""The UI in a real browser (headless Debian chromium): a person predicts a penguin and a forest cell."""

from __future__ import annotations

import pytest
import requests

from e2e.load import COVER, PENGUIN
from e2e.stack import MLFLOW_ADMIN, OUTPUT, wait_until
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
    # Penguins gets no new labels: its test scores, named as such, with the rows they rest on.
    assert ui.production_metrics() == {"Test accuracy": f"{logged['test_accuracy']:.4f}", "Test F1 macro": f"{logged['test_f1_macro']:.4f}"}
    assert "accuracy" not in logged and "f1_macro" not in logged
    assert f"({int(logged['test_rows']):,} rows), not live quality" in ui.page.inner_text("body")


def test_a_new_challenger_is_shown_beside_production_with_its_recommendation(stack, airflow, registry, ui, browser):
    """A person trains penguins on another grid: the new version takes @challenger and is compared with production
    on the stable test rows neither trained on; the Model tab shows both and the recommendation, and the MLflow
    version page, where the alias is moved, its sentence."""
    name = "penguins-classifier"
    production = registry.get_model_version_by_alias(name, "production").version
    grids = {"logistic_regression_grid": {"C": [0.05], "class_weight": [None]}, "random_forest_grid": {}, "svm_grid": {}}
    run = airflow.run("penguins_train", conf=grids)
    result = airflow.xcom("penguins_train", run["dag_run_id"], "register_best")
    assert result["registered"] and not result["promoted"], result
    version = registry.get_model_version(name, result["version"])
    assert "challenger" in version.aliases and registry.get_model_version_by_alias(name, "production").version == production
    tags = version.tags
    assert tags["comparison.production_version"] == production and tags["comparison.recommendation"] in ("promote", "keep", "undecided")
    rows, sentence = int(tags["comparison.rows"]), version.description
    assert rows > 0 and f"v{version.version}" in sentence and f"v{production}" in sentence

    def shown():
        ui.open()  # the tab's reads are cached half a minute: a new visit until it shows the new pair
        ui.choose_dataset("penguins")
        ui.open_tab("Model")
        return ui.comparison()

    table, said = wait_until(
        shown,
        lambda found: found is not None and f"challenger v{version.version}" in found[0],
        timeout=120,
        message=f"the Model tab to show production v{production} beside challenger v{version.version}",
    )
    ui.screenshot(OUTPUT / "ui-model-challenger.png")
    assert f"production v{production}" in table and f"Accuracy on the {rows:,} paired rows" in table
    assert f"Recommendation: {tags['comparison.recommendation']}" in said and sentence in said

    context = browser.new_context(http_credentials={"username": MLFLOW_ADMIN[0], "password": MLFLOW_ADMIN[1]})
    try:
        page = context.new_page()
        assert page.goto(f"{stack.mlflow}/#/models/{name}/versions/{version.version}").status == 200
        page.get_by_text(sentence[:60]).first.wait_for(timeout=90_000)
        page.screenshot(path=str(OUTPUT / "mlflow-challenger-version.png"))
    finally:
        context.close()
