"""The app through Streamlit's AppTest, against a real HTTP server faking inference."""

from __future__ import annotations

import csv
import io

import pytest
from tests.canned import COVERTYPE, PENGUINS

from tests import canned


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def page_text(at) -> str:
    """Every text element of the page (markdown, headers, captions, alerts)."""
    return "\n".join(
        texts(getattr(at, kind)) for kind in ("title", "header", "subheader", "markdown", "caption", "success", "info", "warning", "error")
    )


def predicts(fake, name=PENGUINS):
    return fake.sent("POST", f"/models/{name}/predict")


def test_inference_down_gives_a_clear_message(start_app):
    at = start_app("http://127.0.0.1:9")
    assert not at.exception
    assert "cannot be reached" in at.error[0].value
    assert "http://127.0.0.1:9" in at.error[0].value
    assert not at.tabs  # nothing to predict with


def test_registry_down_when_listing_models(start_app, fake):
    fake.on("GET", "/models", canned.error(503, "the MLflow registry cannot be reached: connection refused"))
    at = start_app(fake.url)
    assert not at.exception
    assert "the MLflow registry cannot be reached" in texts(at.error) + texts(at.warning)


def test_form_is_built_from_the_spec_served_by_inference(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    assert not at.exception
    island = at.selectbox(key="feature_island")
    assert island.label == "Island in the Palmer Archipelago"
    assert island.options == ["Biscoe", "Dream", "Torgersen"]
    assert island.value == "Torgersen"  # the input example's first row
    sex = at.selectbox(key="feature_sex")
    assert sex.options == ["female", "male", "unknown"]  # nullable: an "unknown" choice
    bill = at.number_input(key="feature_bill_length_mm")
    assert bill.label == "Bill (culmen) length (mm)"
    assert (bill.min, bill.max, bill.value) == (25.0, 70.0, 39.1)
    mass = at.number_input(key="feature_body_mass_g")
    assert (mass.label, mass.min, mass.max, mass.value) == ("Body mass (g)", 2500.0, 6500.0, 3750.0)
    # The Model tab's alias history is the only other call.
    assert [r.path for r in fake.requests if r.method == "GET"] == ["/models", f"/models/{PENGUINS}", f"/models/{PENGUINS}/history"]


def test_a_changed_spec_changes_the_form(start_app, fake):
    """Nothing about the dataset is copied into the UI: another spec, another form."""
    canned.serve_models(fake)
    changed = canned.detail(PENGUINS)
    changed["feature_spec"] = {
        **canned.PENGUINS_SPEC,
        "features": [
            {**f, "categories": ["Biscoe", "Dream"]} if f["name"] == "island" else f
            for f in canned.PENGUINS_SPEC["features"]
            if f["name"] != "body_mass_g"
        ],
    }
    changed["input_example"] = [{"island": "Dream", "bill_length_mm": 50.0}]
    fake.on("GET", f"/models/{PENGUINS}", (200, changed))
    at = start_app(fake.url)
    assert at.selectbox(key="feature_island").options == ["Biscoe", "Dream"]
    assert at.selectbox(key="feature_island").value == "Dream"
    assert at.number_input(key="feature_bill_length_mm").value == 50.0
    # Not in the example: a valid value in the middle of the range.
    assert at.number_input(key="feature_bill_depth_mm").value == 17.5
    assert "feature_body_mass_g" not in [n.key for n in at.number_input]


def test_predict_shows_class_confidence_chart_and_version(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    at.button(key="predict_button").click().run()
    assert not at.exception
    [sent] = predicts(fake)
    assert sent.query == {}  # production: no version asked
    assert sent.body == canned.PENGUINS_EXAMPLE[0]
    text = page_text(at)
    assert "Predicted: Adélie penguin" in text
    assert "Confidence: **97.0%**" in text
    assert "Answered by penguins-classifier version 3" in text
    [chart] = at.get("vega_lite_chart")
    assert "Gentoo penguin" in str(chart.proto)  # classes in words on the chart


def test_edited_fields_are_sent_typed_and_unknown_as_null(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    at.selectbox(key="feature_island").select("Biscoe")
    at.number_input(key="feature_bill_length_mm").set_value(47.3)
    at.selectbox(key="feature_sex").select("unknown")
    at.button(key="predict_button").click().run()
    [sent] = predicts(fake)
    assert sent.body == {**canned.PENGUINS_EXAMPLE[0], "island": "Biscoe", "bill_length_mm": 47.3, "sex": None}
    assert "Predicted: Gentoo penguin" in page_text(at)


def test_choosing_a_version_sends_it(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    version = at.selectbox(key="model_version")
    assert version.options == [
        "production (version 3)",
        "challenger (version 4)",
        "version 4 (challenger)",
        "version 3 (production)",
        "version 2",
    ]
    assert version.value == "production (version 3)"
    version.select("version 2").run()
    assert {"version": "2"} in [r.query for r in fake.sent("GET", f"/models/{PENGUINS}")]
    assert at.number_input(key="feature_bill_length_mm").value == 39.1
    at.button(key="predict_button").click().run()
    assert predicts(fake)[-1].query == {"version": "2"}
    assert "Answered by penguins-classifier version 2" in page_text(at)


def test_switching_dataset_starts_from_its_production_version(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    at.selectbox(key="model_version").select("version 2").run()
    at.selectbox(key="dataset").select("covertype").run()
    assert at.selectbox(key="model_version").value == "production (version 3)"
    at.button(key="predict_button").click().run()
    assert predicts(fake, COVERTYPE)[-1].query == {}


def test_choosing_an_alias_sends_it(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    at.selectbox(key="model_version").select("challenger (version 4)").run()
    at.button(key="predict_button").click().run()
    assert predicts(fake)[-1].query == {"alias": "challenger"}
    assert "Answered by penguins-classifier version 4" in page_text(at)


def test_covertype_form_uses_integers(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    at.selectbox(key="dataset").select("covertype").run()
    assert not at.exception
    elevation = at.number_input(key="feature_Elevation")
    assert elevation.label == "Elevation (m)"
    assert (elevation.min, elevation.max, elevation.value, elevation.step) == (1859, 3858, 2596, 1)
    assert at.number_input(key="feature_Hillshade_9am").label == "Hillshade index at 9am, summer solstice (index 0-255)"
    soil = next(f for f in canned.COVERTYPE_SPEC["features"] if f["name"] == "Soil_Type")
    assert at.selectbox(key="feature_Soil_Type").options == soil["categories"]
    assert "unknown" not in at.selectbox(key="feature_Wilderness_Area").options  # not nullable
    at.number_input(key="feature_Elevation").set_value(3100)
    at.button(key="predict_button").click().run()
    [sent] = predicts(fake, COVERTYPE)
    assert sent.body == {**canned.COVERTYPE_EXAMPLE[0], "Elevation": 3100}
    assert all(type(sent.body[f]) is int for f in ("Elevation", "Aspect", "Hillshade_3pm"))
    text = page_text(at)
    assert "Predicted: Spruce/Fir" in text
    assert "Answered by covertype-classifier version 3" in text


def test_no_production_version_yet_gives_a_warning(start_app, fake):
    canned.serve_models(fake, penguins_production=None)
    at = start_app(fake.url)
    assert not at.exception
    assert "penguins-classifier has no production version yet" in at.warning[0].value
    # The other registered versions can still answer, newest first.
    assert at.selectbox(key="model_version").options == ["version 4", "version 3", "version 2"]
    assert [r.query for r in fake.sent("GET", f"/models/{PENGUINS}")] == [{"version": "4"}]


def test_no_version_at_all_gives_a_warning_and_no_form(start_app, fake):
    canned.serve_models(fake)
    fake.on("GET", "/models", (200, {"models": [canned.listing(PENGUINS, None, versions=()), canned.listing(COVERTYPE)]}))
    at = start_app(fake.url)
    assert not at.exception
    assert "penguins-classifier has no registered version yet" in at.warning[0].value
    assert not at.number_input
    assert "Nothing can be predicted" in texts(at.info)


def test_production_not_loaded_by_inference_gives_a_warning(start_app, fake):
    """/models knows a production version, but inference cannot answer with it (yet)."""
    canned.serve_models(fake)
    fake.on("GET", f"/models/{PENGUINS}", canned.error(503, "penguins-classifier cannot answer yet: loading version 3"))
    at = start_app(fake.url)
    assert not at.exception
    assert "penguins-classifier cannot answer yet: loading version 3" in at.warning[0].value
    assert not at.number_input


def test_rejected_input_shows_the_field_and_reason(start_app, fake):
    canned.serve_models(fake)
    fake.on(
        "POST",
        f"/models/{PENGUINS}/predict",
        (422, {"detail": [canned.problem("island", "'Atlantis' is not one of: Biscoe, Dream, Torgersen")]}),
    )
    at = start_app(fake.url)
    at.button(key="predict_button").click().run()
    assert not at.exception
    message = at.error[0].value
    assert "Island in the Palmer Archipelago" in message and "`island`" in message
    assert "'Atlantis' is not one of: Biscoe, Dream, Torgersen" in message
    assert "Predicted:" not in page_text(at)


def test_inference_down_when_predicting(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    fake.on("POST", f"/models/{PENGUINS}/predict", canned.error(503, "penguins-classifier cannot answer yet: registry down"))
    at.button(key="predict_button").click().run()
    assert not at.exception
    assert "penguins-classifier cannot answer yet: registry down" in at.warning[0].value


def _csv(rows: list[dict], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


PENGUIN_COLUMNS = ["id", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]


def test_batch_predicts_good_rows_and_lists_the_bad_one(start_app, fake, downloads):
    canned.serve_models(fake)
    at = start_app(fake.url)
    rows = [
        {
            "id": "a",
            "island": "Torgersen",
            "bill_length_mm": "39.1",
            "bill_depth_mm": "18.7",
            "flipper_length_mm": "181",
            "body_mass_g": "3750",
            "sex": "male",
        },
        {
            "id": "b",
            "island": "Atlantis",
            "bill_length_mm": "40",
            "bill_depth_mm": "18",
            "flipper_length_mm": "190",
            "body_mass_g": "3800",
            "sex": "female",
        },
        {
            "id": "c",
            "island": "Biscoe",
            "bill_length_mm": "46.1",
            "bill_depth_mm": "13.2",
            "flipper_length_mm": "211",
            "body_mass_g": "4500",
            "sex": "",
        },
    ]
    at.file_uploader(key="batch_file").set_value(("birds.csv", _csv(rows, PENGUIN_COLUMNS), "text/csv")).run()
    assert not at.exception
    first, second = predicts(fake)
    assert len(first.body["rows"]) == 3
    # Typed per the spec; an empty cell is null.
    assert second.body == {
        "rows": [
            {
                "island": "Torgersen",
                "bill_length_mm": 39.1,
                "bill_depth_mm": 18.7,
                "flipper_length_mm": 181.0,
                "body_mass_g": 3750.0,
                "sex": "male",
            },
            {
                "island": "Biscoe",
                "bill_length_mm": 46.1,
                "bill_depth_mm": 13.2,
                "flipper_length_mm": 211.0,
                "body_mass_g": 4500.0,
                "sex": None,
            },
        ]
    }
    assert "2 of 3 rows predicted by penguins-classifier version 3" in at.warning[0].value

    results = at.get_by_key("batch_results").dataframe[0].value
    assert results["row"].tolist() == [1, 3]
    assert results["id"].tolist() == ["a", "c"]
    assert results["predicted_name"].tolist() == ["Adélie penguin", "Gentoo penguin"]
    assert results["probability_Gentoo"].tolist() == pytest.approx([0.015, 0.97])
    rejected = at.get_by_key("batch_rejected").dataframe[0].value
    assert rejected.to_dict("records") == [{"row": 2, "field": "island", "reason": "'Atlantis' is not one of: Biscoe, Dream, Torgersen"}]

    button = at.get("download_button")[-1]
    assert button.proto.label == "Download predictions (CSV)"
    downloaded = list(csv.DictReader(io.StringIO(downloads(button.proto.url).decode())))
    assert [r["id"] for r in downloaded] == ["a", "c"]
    assert [r["predicted_label"] for r in downloaded] == ["Adelie", "Gentoo"]
    assert downloaded[1]["sex"] == "" and downloaded[1]["probability_Gentoo"] == "0.97"
    assert list(downloaded[0])[:3] == ["row", "id", "island"]


def test_batch_problems_found_locally_are_listed_without_asking_inference(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    rows = [
        {
            "id": "a",
            "island": "Dream",
            "bill_length_mm": "forty",
            "bill_depth_mm": "18",
            "flipper_length_mm": "190",
            "body_mass_g": "3800",
            "sex": "female",
        },
        {
            "id": "b",
            "island": "Dream",
            "bill_length_mm": "40",
            "bill_depth_mm": "18",
            "flipper_length_mm": "190",
            "body_mass_g": "3800",
            "sex": "female",
        },
    ]
    at.file_uploader(key="batch_file").set_value(("birds.csv", _csv(rows, PENGUIN_COLUMNS), "text/csv")).run()
    [sent] = predicts(fake)
    assert len(sent.body["rows"]) == 1
    assert at.get_by_key("batch_rejected").dataframe[0].value.to_dict("records") == [
        {"row": 1, "field": "bill_length_mm", "reason": "'forty' is not a number"}
    ]
    assert at.get_by_key("batch_results").dataframe[0].value["predicted_name"].tolist() == ["Chinstrap penguin"]


def test_batch_file_missing_a_column_is_refused_with_the_reason(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    data = b"island,bill_length_mm\nDream,40\n"
    at.file_uploader(key="batch_file").set_value(("birds.csv", data, "text/csv")).run()
    assert not at.exception
    assert "no column for: bill_depth_mm, flipper_length_mm, body_mass_g, sex" in at.error[0].value
    assert not predicts(fake)


def test_batch_with_inference_down(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    fake.on("POST", f"/models/{PENGUINS}/predict", canned.error(503, "penguins-classifier cannot answer yet: starting"))
    data = _csv(
        [{"island": "Dream", "bill_length_mm": "40", "bill_depth_mm": "18", "flipper_length_mm": "190", "body_mass_g": "3800", "sex": ""}],
        PENGUIN_COLUMNS[1:],
    )
    at.file_uploader(key="batch_file").set_value(("birds.csv", data, "text/csv")).run()
    assert not at.exception
    assert "penguins-classifier cannot answer yet: starting" in at.warning[0].value


def test_batch_template_is_the_header_and_input_example(start_app, fake, downloads):
    canned.serve_models(fake)
    at = start_app(fake.url)
    [button] = at.get("download_button")
    rows = list(csv.DictReader(io.StringIO(downloads(button.proto.url).decode())))
    assert list(rows[0]) == [f["name"] for f in canned.PENGUINS_SPEC["features"]]
    assert rows[0]["island"] == "Torgersen" and len(rows) == 2


def test_model_tab_shows_production_metrics_and_links(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    assert not at.exception
    # Its test scores, named as such with the rows they rest on: no live labels are readable here.
    metrics = {m.label: m.value for m in at.get_by_key("model_headline").metric}
    assert metrics == {"Test accuracy": "0.9855", "Test F1 macro": "0.9812"}
    assert "Test scores: one split held out at registration (69 rows), not live quality." in texts(at.caption)
    table = at.get_by_key("model_metrics").dataframe[0].value
    assert table.columns.tolist() == ["metric", "version 3 (production)"]
    assert table["metric"].tolist() == ["CV accuracy mean", "CV accuracy std", "Test accuracy", "Test F1 macro", "Test rows"]
    links = {b.proto.label: b.proto.url for b in at.get("link_button")}
    assert links["Open Airflow (training pipelines)"] == "http://airflow.test:8080"
    assert links["Open MLflow (runs and registry)"] == "http://mlflow.test:5000/#/models/penguins-classifier"
    versions = at.get_by_key("model_versions").dataframe[0].value
    assert versions["version"].tolist() == ["4", "3", "2"]
    assert versions["loaded by inference"].tolist() == ["", "yes", ""]


def test_model_tab_compares_the_chosen_version_with_production(start_app, fake):
    canned.serve_models(fake)
    at = start_app(fake.url)
    at.selectbox(key="model_version").select("version 2").run()
    table = at.get_by_key("model_metrics").dataframe[0].value
    assert table.columns.tolist() == ["metric", "version 3 (production)", "version 2"]
    row = table[table["metric"] == "Test accuracy"].iloc[0]
    assert (row["version 3 (production)"], row["version 2"]) == ("0.9855", "0.9420")


def test_model_tab_warns_when_production_came_from_a_partial_grid(start_app, fake):
    canned.serve_models(fake)
    assert "partial grid" not in page_text(start_app(fake.url))  # a complete grid, or not recorded: no warning
    partial = {"candidates_evaluated": 6, "candidates_total": 10, "partial": True}
    fake.on("GET", f"/models/{PENGUINS}", (200, {**canned.detail(PENGUINS, "3"), "grid": partial}))
    at = start_app(fake.url)
    assert not at.exception
    assert "Version 3 was chosen from a partial grid: 6 of 10 candidates were evaluated" in texts(at.warning)
