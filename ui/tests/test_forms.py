"""Spec -> field defaults, steps and labels; widget values -> JSON row; version choices; chart data."""

from __future__ import annotations

import pytest

from tests import canned
from ui import charts, forms
from ui.feature_spec import Feature, FeatureSpec
from ui.inference_client import ModelSummary, Prediction, VersionInfo
from ui.sidebar import VersionChoice, version_choices

PENGUINS = FeatureSpec.from_json(canned.PENGUINS_SPEC)
COVERTYPE = FeatureSpec.from_json(canned.COVERTYPE_SPEC)


def test_labels_are_readable_words_with_units():
    assert PENGUINS.feature("bill_length_mm").label == "Bill (culmen) length (mm)"
    assert PENGUINS.feature("sex").label == "Sex"
    assert COVERTYPE.feature("Aspect").label == "Aspect (degrees azimuth)"
    # No description in the spec: the name in words.
    assert Feature.from_json({"name": "body_mass_g", "kind": "numeric", "type": "number"}).label == "Body mass g"


def test_defaults_come_from_the_input_example():
    example = canned.PENGUINS_EXAMPLE[0]
    assert {f.name: forms.default_value(f, example) for f in PENGUINS.features} == example


def test_defaults_when_the_example_does_not_help():
    island, bill, sex = (PENGUINS.feature(n) for n in ("island", "bill_length_mm", "sex"))
    assert forms.default_value(island, {"island": "Atlantis"}) == "Biscoe"
    assert forms.default_value(bill, None) == 47.5  # middle of [25, 70]
    assert forms.default_value(bill, {"bill_length_mm": 99.0}) == 70.0  # clamped into range
    assert forms.default_value(bill, {"bill_length_mm": True}) == 47.5
    assert forms.default_value(sex, {"sex": None}) is None  # the example says unknown
    assert forms.default_value(sex, {}) == "female"


def test_integer_defaults_are_ints():
    elevation = COVERTYPE.feature("Elevation")
    assert forms.default_value(elevation, {"Elevation": 2596.0}) == 2596
    assert type(forms.default_value(elevation, {"Elevation": 2596.0})) is int
    assert forms.default_value(elevation, None) == 2858  # round((1859 + 3858) / 2)


@pytest.mark.parametrize("name, step, decimals", [("bill_length_mm", 0.1, 1), ("body_mass_g", 1.0, 0), ("flipper_length_mm", 0.1, 1)])
def test_number_steps_follow_the_range(name, step, decimals):
    feature = PENGUINS.feature(name)
    assert forms.number_step(feature) == pytest.approx(step)
    assert forms.number_decimals(feature) == decimals


def test_integer_features_step_by_one():
    assert forms.number_step(COVERTYPE.feature("Hillshade_9am")) == 1


def test_json_row_types_follow_the_spec():
    values = {**canned.COVERTYPE_EXAMPLE[0], "Elevation": 2596.0, "Slope": 3}
    row = forms.to_json_row(COVERTYPE, values)
    assert row == canned.COVERTYPE_EXAMPLE[0]
    assert all(type(row[f.name]) is int for f in COVERTYPE.features if f.is_integer)
    penguin = forms.to_json_row(PENGUINS, {**canned.PENGUINS_EXAMPLE[0], "flipper_length_mm": 181, "sex": None})
    assert type(penguin["flipper_length_mm"]) is float and penguin["sex"] is None


def test_unknown_choice_does_not_clash_with_a_category():
    feature = Feature.from_json({"name": "x", "kind": "categorical", "categories": ["unknown", "b"], "nullable": True})
    assert forms.unknown_label(feature) == "(unknown)"
    assert forms.unknown_label(PENGUINS.feature("sex")) == "unknown"


def test_widget_keys_are_css_safe():
    assert forms.widget_key(COVERTYPE.feature("Hillshade_9am")) == "feature_Hillshade_9am"
    assert forms.widget_key(Feature("a b/c", "numeric", "number")) == "feature_a_b_c"


def model(production="3", aliases=None, versions=(("4", ("challenger",)), ("3", ("production",)), ("2", ()))):
    return ModelSummary(
        name="penguins-classifier",
        dataset="penguins",
        production_version=production,
        aliases=aliases if aliases is not None else {"production": "3", "challenger": "4"},
        versions=tuple(VersionInfo(v, a) for v, a in versions),
    )


def test_version_choices_production_first_then_aliases_then_versions():
    assert version_choices(model()) == [
        VersionChoice("production (version 3)"),
        VersionChoice("challenger (version 4)", alias="challenger"),
        VersionChoice("version 4 (challenger)", version="4"),
        VersionChoice("version 3 (production)", version="3"),
        VersionChoice("version 2", version="2"),
    ]
    assert version_choices(model())[0].is_production


def test_version_choices_without_production():
    choices = version_choices(model(None, {}, (("2", ()), ("1", ()))))
    assert [c.label for c in choices] == ["version 2", "version 1"]
    assert version_choices(model(None, {}, ())) == []


def test_chart_shows_every_class_in_words_in_spec_order():
    prediction = Prediction(2, "Lodgepole Pine", {str(c): 0.1 for c in range(1, 8)} | {"2": 0.4})
    frame = charts.probability_frame(prediction, COVERTYPE)
    assert frame["class"].tolist() == [
        "Spruce/Fir",
        "Lodgepole Pine",
        "Ponderosa Pine",
        "Cottonwood/Willow",
        "Aspen",
        "Douglas-fir",
        "Krummholz",
    ]
    assert frame["probability"].tolist()[1] == 0.4
    assert charts.probability_chart(frame).to_dict()["layer"][0]["mark"]["type"] == "bar"


def test_settings_come_from_the_environment(monkeypatch):
    from ui.settings import Settings

    assert Settings().inference_url == "http://inference:8989"
    monkeypatch.setenv("UI_INFERENCE_URL", "http://localhost:8989/")
    monkeypatch.setenv("UI_MLFLOW_URL", "http://mlflow.example:5000")
    settings = Settings()
    assert (settings.inference_url, settings.mlflow_url) == ("http://localhost:8989", "http://mlflow.example:5000")
