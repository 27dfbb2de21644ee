"""inference is held to the contract training writes (contract/, from airflow's contracts.py)."""

from __future__ import annotations

import json

import pytest
from specs import CONTRACT, COVER_ROW, COVERTYPE_SPEC, PENGUIN_ROW, PENGUINS_SPEC

from inference import prediction_log, registry, shadow
from inference.feature_spec import KNOWN_SPEC_VERSIONS, FeatureSpec
from inference.settings import MODEL_SUFFIX, Settings

CONVENTIONS = json.loads((CONTRACT / "conventions.json").read_text())
MONITORING = json.loads((CONTRACT / "monitoring-tables.json").read_text())["tables"]
SCHEMA = json.loads((CONTRACT / "feature-spec.schema.json").read_text())


def test_names_and_limits_are_the_ones_training_uses():
    settings = Settings()
    assert MODEL_SUFFIX == CONVENTIONS["model_name_suffix"]
    assert settings.production_alias == CONVENTIONS["production_alias"]
    assert settings.challenger_alias == CONVENTIONS["challenger_alias"]
    assert settings.max_batch_rows == CONVENTIONS["max_batch_rows"]
    assert (registry.FEATURE_SPEC_KEY, registry.FEATURE_SPEC_FILE) == (
        CONVENTIONS["feature_spec_metadata_key"],
        CONVENTIONS["feature_spec_file"],
    )
    assert (registry.TAG_FAMILY, registry.TAG_DAG_ID, registry.TAG_RUN_ID) == tuple(
        CONVENTIONS["version_tags"][k] for k in ("family", "dag_id", "dag_run_id")
    )
    assert all(name.endswith(MODEL_SUFFIX) for name in settings.model_names)


def test_this_service_reads_the_spec_version_training_writes():
    assert SCHEMA["properties"]["spec_version"]["const"] in KNOWN_SPEC_VERSIONS


@pytest.mark.parametrize("spec, row", [(PENGUINS_SPEC, PENGUIN_ROW), (COVERTYPE_SPEC, COVER_ROW)])
def test_every_golden_spec_is_read_whole(spec, row):
    parsed = FeatureSpec(spec)
    assert parsed.names == [f["name"] for f in spec["features"]]
    assert parsed.target == spec["target"]["name"] and parsed.classes == spec["target"]["classes"]
    assert parsed.check_row(row) == []
    # Every key of a feature the format defines is one the row schema and validator use.
    schema = parsed.row_schema()
    assert set(schema["properties"]) == set(parsed.names)


@pytest.mark.parametrize("table, columns", [("prediction_requests", prediction_log.COLUMNS), ("shadow_predictions", shadow.COLUMNS)])
def test_the_logs_write_every_column_of_their_table_but_its_id(table, columns):
    contract = [c["name"] for c in MONITORING[table]["columns"] if not c.get("autoincrement")]
    assert sorted(columns) == sorted(contract) and len(set(columns)) == len(columns)
    # Each statement names its columns as the list does.
    statement = shadow.INSERT if table == "shadow_predictions" else prediction_log.INSERT
    assert f"INTO {table} ({', '.join(columns)})" in statement
