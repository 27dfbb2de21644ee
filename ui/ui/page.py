"""Drive the platform's Streamlit UI in a real browser, for end-to-end tests.

Standalone on purpose (the end-to-end tier installs the ui package without its
dependencies to import it): it needs only the `playwright` package and Debian's
`chromium` (Playwright's own browser download does not work here, hence
`executable_path`). Nothing else of the UI's code is imported;
`ui/tests/test_ui_page.py` checks that the keys below are the app's.

    from playwright.sync_api import sync_playwright
    from ui.page import UiPage, launch_chromium

    with sync_playwright() as p:
        browser = launch_chromium(p)
        ui = UiPage(browser.new_page(viewport={"width": 1400, "height": 1000}), "http://localhost:8503")
        ui.open()
        ui.choose_dataset("penguins")
        ui.fill_form({"island": "Biscoe", "bill_length_mm": 46.1, "bill_depth_mm": 13.2,
                      "flipper_length_mm": 211, "body_mass_g": 4500, "sex": None})
        result = ui.predict()
        assert result.predicted == "Gentoo penguin" and result.model == "penguins-classifier"
        ui.screenshot("test-output/ui-penguins.png")

Streamlit gives every keyed widget the CSS class `st-key-<key>`; the keys are:
dataset, model_version (sidebar); feature_<feature name> (one per form field);
predict_button; prediction_result (the answer: "Predicted: <class in words>",
"Confidence: 97.0%", the chart, "Answered by <model> version <v>");
batch_file, batch_results, batch_rejected, batch_download (Batch tab);
model_headline, model_comparison, model_recommendation, model_metrics, model_versions,
model_history, link_airflow, link_mlflow (Model tab);
monitoring_refresh, monitoring_traffic, monitoring_class_mix, monitoring_quality,
monitoring_drift, monitoring_triggers (Monitoring tab: its Refresh button, one container per section);
monitoring_source (the state of the data_api group ingestion reads, above them).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATASET_KEY = "dataset"
VERSION_KEY = "model_version"
FEATURE_KEY_PREFIX = "feature_"
PREDICT_KEY = "predict_button"
RESULT_KEY = "prediction_result"
UNKNOWN_LABEL = "unknown"  # the select box choice that sends null
MODEL_HEADLINE_KEY = "model_headline"
MODEL_COMPARISON_KEY = "model_comparison"
MODEL_RECOMMENDATION_KEY = "model_recommendation"
MODEL_HISTORY_KEY = "model_history"
MONITORING_REFRESH_KEY = "monitoring_refresh"
MONITORING_SOURCE_KEY = "monitoring_source"
MONITORING_KEYS = ("monitoring_traffic", "monitoring_class_mix", "monitoring_quality", "monitoring_drift", "monitoring_triggers")

_PREDICTED = re.compile(r"Predicted: (.+)")
_CONFIDENCE = re.compile(r"Confidence: ([0-9.]+)%")
_ANSWERED_BY = re.compile(r"Answered by (\S+) version (\S+)")


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("Debian's chromium is not installed (apt-get install chromium)")


def launch_chromium(playwright: Any, **kwargs: Any) -> Any:
    """Headless Debian chromium (Playwright's own browser build cannot be downloaded here)."""
    return playwright.chromium.launch(
        executable_path=chromium_path(),
        headless=True,
        # Root in a container: no sandbox; /dev/shm is small in containers. No
        # background traffic: on a closed network it only produces errors.
        args=[
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
        **kwargs,
    )


@dataclass(frozen=True)
class PredictionOnPage:
    text: str  # everything the result box says
    predicted: str  # the class in words, e.g. "Adélie penguin"
    confidence: float  # percent, e.g. 97.0
    model: str  # e.g. "penguins-classifier"
    version: str  # e.g. "3"


class UiPage:
    def __init__(self, page: Any, url: str, timeout_ms: float = 60_000):
        self.page = page
        self.url = url.rstrip("/")
        self.timeout_ms = timeout_ms
        page.set_default_timeout(timeout_ms)

    # -- navigation ----------------------------------------------------------

    def open(self) -> None:
        """Load the app and wait until its first run has finished and the form can be used."""
        self.page.goto(self.url)
        self.page.locator('[data-testid="stApp"]').wait_for()
        self.wait_until_idle(started=True)

    def wait_until_idle(self, started: bool = False) -> None:
        """Wait for the script run an action caused to finish (Streamlit reruns the script on each)."""
        state = '() => document.querySelector("[data-testid=stApp]")?.getAttribute("data-test-script-state")'
        if not started:
            try:  # the rerun may start a moment after the click
                self.page.wait_for_function(f"() => ({state})() !== 'notRunning'", timeout=3_000)
            except Exception:
                pass  # already done (or nothing to run)
        self.page.wait_for_function(f"() => ({state})() === 'notRunning'", timeout=self.timeout_ms)

    def widget(self, key: str) -> Any:
        return self.page.locator(f".st-key-{key}")

    def choose(self, key: str, option: str, rerun: bool = True) -> None:
        """Pick an option of the select box with this key, by its shown text.

        `rerun`: whether the choice reruns the app (sidebar), not so inside the form.
        """
        box = self.widget(key).locator('input[role="combobox"]')
        if box.input_value() == option:
            return
        box.click()
        box.fill(option)  # filters long lists (40 soil types) so the option is rendered
        self.page.get_by_role("option", name=option, exact=True).click()
        if rerun:
            self.wait_until_idle()

    def set_number(self, key: str, value: float | None) -> None:
        """Type into the number input with this key (inside the form: no rerun until Predict)."""
        field = self.widget(key).locator('input[type="number"]')
        field.fill("" if value is None else str(value))
        field.press("Tab")  # commits the value (Enter would submit the form)

    # -- the sidebar ---------------------------------------------------------

    def choose_dataset(self, dataset: str) -> None:
        """ "penguins" or "covertype" (the select box shows them capitalised)."""
        self.choose(DATASET_KEY, dataset.capitalize())

    def choose_version(self, label: str) -> None:
        """E.g. "production (version 3)", "challenger (version 4)", "version 2"."""
        self.choose(VERSION_KEY, label)

    # -- the Predict tab -----------------------------------------------------

    def feature_key(self, name: str) -> str:
        return FEATURE_KEY_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "_", name)

    def fill_form(self, row: dict[str, Any]) -> None:
        """Set each field of the form; None chooses "unknown" (nullable select boxes)."""
        for name, value in row.items():
            key = self.feature_key(name)
            self.widget(key).wait_for()
            if self.widget(key).locator('[data-testid="stSelectbox"]').count():
                self.choose(key, UNKNOWN_LABEL if value is None else str(value), rerun=False)
            else:
                self.set_number(key, value)

    def predict(self) -> PredictionOnPage:
        """Press Predict and read the answer; raises AssertionError with the page's alerts if there is none."""
        self.widget(PREDICT_KEY).locator("button").click()
        self.wait_until_idle()
        result = self.widget(RESULT_KEY)
        if not result.count():
            raise AssertionError(f"no prediction on the page; alerts: {self.alerts()}")
        return self.read_prediction()

    def read_prediction(self) -> PredictionOnPage:
        text = self.widget(RESULT_KEY).inner_text()
        predicted, confidence, answered = _PREDICTED.search(text), _CONFIDENCE.search(text), _ANSWERED_BY.search(text)
        if not (predicted and confidence and answered):
            raise AssertionError(f"unexpected prediction box: {text!r}")
        return PredictionOnPage(text, predicted.group(1).strip(), float(confidence.group(1)), answered.group(1), answered.group(2))

    # -- anywhere ------------------------------------------------------------

    def open_tab(self, name: str) -> None:
        """ "Predict", "Batch", "Model" or "Monitoring"."""
        self.page.get_by_role("tab", name=name, exact=True).click()

    def headline_metrics(self, within: str = "") -> dict[str, str]:
        """The open tab's headline numbers (open it first): label -> value as shown.
        `within`: only those inside the container with this key."""
        scope = f".st-key-{within} " if within else ""
        metrics = self.page.locator(f'{scope}[data-testid="stMetric"]:visible')
        metrics.first.wait_for()
        return {
            m.locator('[data-testid="stMetricLabel"]').inner_text().strip(): m.locator('[data-testid="stMetricValue"]').inner_text().strip()
            for m in metrics.all()
        }

    def production_metrics(self) -> dict[str, str]:
        """The Model tab's headline numbers of the production version (open the tab first)."""
        return self.headline_metrics(within=MODEL_HEADLINE_KEY)

    def comparison(self) -> tuple[str, str] | None:
        """The Model tab's production and challenger (open the tab first): the side-by-side table and
        the recommendation, as text; None when it shows no comparison."""
        self.widget(MODEL_HEADLINE_KEY).wait_for()
        table = self.widget(MODEL_COMPARISON_KEY)
        if not table.count():
            return None
        return table.inner_text(), self.widget(MODEL_RECOMMENDATION_KEY).inner_text()

    def alias_history(self) -> list[list[str]]:
        """The Model tab's alias history, newest first (open the tab first): per move, its cells as shown
        (when, alias, from, to, through)."""
        return self.table_rows(MODEL_HISTORY_KEY)

    def table_rows(self, key: str) -> list[list[str]]:
        """The rows of the static table (st.table) in the container with this key, each as its cells' texts, index first."""
        rows = self.widget(key).locator("table tbody tr")
        rows.first.wait_for()
        return [[cell.strip() for cell in row.locator("th, td").all_inner_texts()] for row in rows.all()]

    # -- the Monitoring tab --------------------------------------------------

    def refresh_monitoring(self) -> None:
        """Press the Monitoring tab's Refresh (its reads are cached for half a minute)."""
        # A rerun can leave the previous run's button on the page for a moment.
        self.widget(MONITORING_REFRESH_KEY).locator("button:visible").first.click()
        self.wait_until_idle()

    def monitoring_charts(self) -> dict[str, int]:
        """Per Monitoring section shown (open the tab first): how many charts it drew (Vega canvases or SVGs)."""
        counts = {}
        for key in MONITORING_KEYS:
            section = self.widget(key)
            if section.count():
                charts = section.locator('[data-testid="stVegaLiteChart"]')
                for chart in charts.all():
                    chart.locator("canvas, svg").first.wait_for()
                counts[key] = charts.count()
        return counts

    def section_text(self, key: str) -> str:
        return self.widget(key).inner_text()

    def alerts(self) -> list[str]:
        """Texts of every st.error / st.warning / st.info / st.success on the page."""
        return self.page.locator('[data-testid="stAlert"]').all_inner_texts()

    def screenshot(self, path: str | Path) -> Path:
        """The whole page. Streamlit scrolls inside its main area, not the document, so the
        window is made as tall as that area for the shot (full_page alone would cut it)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size
        height = self.page.evaluate(
            '() => Math.max(...Array.from(document.querySelectorAll("[data-testid=stMain], [data-testid=stSidebar]"),'
            " e => e.scrollHeight), 0)"
        )
        if size and height > size["height"]:
            self.page.set_viewport_size({"width": size["width"], "height": int(height)})
            self.page.wait_for_timeout(500)  # charts re-layout
        try:
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            if size:
                self.page.set_viewport_size(size)
        return path
