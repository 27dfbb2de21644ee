"""The UI is held to the contract training writes (contract/, from airflow's contracts.py)."""

from __future__ import annotations

import json

import pytest
from tests.canned import CONTRACT

from ui import batch, model_view, sidebar
from ui.feature_spec import KNOWN_SPEC_VERSIONS, FeatureSpec

CONVENTIONS = json.loads((CONTRACT / "conventions.json").read_text())
SCHEMA = json.loads((CONTRACT / "feature-spec.schema.json").read_text())


def test_names_and_limits_are_the_ones_training_and_inference_use():
    assert sidebar.PRODUCTION == CONVENTIONS["production_alias"]
    assert batch.CHUNK_ROWS <= CONVENTIONS["max_batch_rows"]


def test_the_model_tab_reads_the_metrics_training_logs():
    logged = CONVENTIONS["version_metrics"]
    read = {
        "cv_accuracy_mean": model_view.CV_ACCURACY_MEAN,
        "cv_accuracy_std": model_view.CV_ACCURACY_STD,
        "test_accuracy": model_view.TEST_ACCURACY,
        "test_f1_macro": model_view.TEST_F1_MACRO,
        "test_split_rows": model_view.TEST_ROWS,
    }
    assert read == logged


def test_this_ui_reads_the_spec_version_training_writes():
    assert SCHEMA["properties"]["spec_version"]["const"] in KNOWN_SPEC_VERSIONS


@pytest.mark.parametrize("dataset", ["penguins", "covertype"])
def test_every_golden_spec_is_read_whole(dataset):
    raw = json.loads((CONTRACT / "specs" / f"{dataset}.json").read_text())
    spec = FeatureSpec.from_json(raw)
    assert spec.names == [f["name"] for f in raw["features"]]
    for parsed, written in zip(spec.features, raw["features"]):
        assert (parsed.kind, parsed.type, parsed.nullable, parsed.unit) == (
            written["kind"],
            written["type"],
            written["nullable"],
            written.get("unit", ""),
        )
        assert list(parsed.categories) == written.get("categories", [])
        assert (parsed.minimum, parsed.maximum) == (written.get("minimum"), written.get("maximum"))
    assert list(spec.classes) == raw["target"]["classes"] and spec.target == raw["target"]["name"]
