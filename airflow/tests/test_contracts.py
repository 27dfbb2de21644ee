import json
import os
from pathlib import Path

import jsonschema

from mlops_pipelines.contract_files import golden_files
from mlops_pipelines.contracts import (
    CONTRACTS,
    COVERTYPE,
    FEATURE_SPEC_SCHEMA,
    PENGUINS,
    SPEC_VERSION,
    Categorical,
)


def test_covertype_domain_is_the_documented_one_not_a_sample():
    soil = next(f for f in COVERTYPE.features if f.name == "Soil_Type")
    area = next(f for f in COVERTYPE.features if f.name == "Wilderness_Area")
    assert isinstance(soil, Categorical) and len(set(soil.categories)) == 40
    # Absent from the shared sample, but a valid soil type all the same.
    assert "C5151" in soil.categories
    assert soil.categories[0] == "C2702" and soil.categories[-1] == "C8776"
    assert area.categories == ("Rawah", "Neota", "Comanche", "Cache")
    assert COVERTYPE.classes == (1, 2, 3, 4, 5, 6, 7)
    assert len(COVERTYPE.feature_names) == 12


def test_penguin_islands_and_species():
    island = next(f for f in PENGUINS.features if f.name == "island")
    assert island.categories == ("Biscoe", "Dream", "Torgersen")
    assert PENGUINS.classes == ("Adelie", "Chinstrap", "Gentoo")
    assert PENGUINS.target == "species"


def test_feature_spec_is_json_and_complete():
    for contract in CONTRACTS.values():
        spec = json.loads(json.dumps(contract.feature_spec()))
        assert [f["name"] for f in spec["features"]] == contract.feature_names
        assert spec["target"]["name"] == contract.target
        for feature in spec["features"]:
            if feature["kind"] == "numeric":
                assert feature["minimum"] < feature["maximum"] and feature["unit"]
            else:
                assert feature["categories"]
    assert COVERTYPE.feature_spec()["target"]["class_names"]["1"] == "Spruce/Fir"


def test_table_and_model_names():
    assert PENGUINS.registered_model_name == "penguins-classifier"
    assert COVERTYPE.raw_table == "covertype_raw"
    assert COVERTYPE.clean_table == "covertype_clean"
    assert COVERTYPE.rejected_table == "covertype_rejected"


# The contract as the other services' tests read it: contract/ at the repository root.
CONTRACT_DIR = Path(__file__).resolve().parents[2] / "contract"


def render(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def test_the_golden_contract_files_are_what_contracts_py_writes():
    """inference's and the UI's tests read these files; they must be what training logs.

    After changing contracts.py: `UPDATE_CONTRACT=1 pytest tests/test_contracts.py` rewrites them.
    """
    stale = []
    for name, value in golden_files().items():
        path = CONTRACT_DIR / name
        if os.environ.get("UPDATE_CONTRACT") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(value))
        if not path.exists() or path.read_text() != render(value):
            stale.append(name)
    assert not stale, f"contract/ differs from contracts.py for {stale}: run UPDATE_CONTRACT=1 pytest tests/test_contracts.py"


def test_every_logged_spec_fits_the_published_format():
    validator = jsonschema.Draft202012Validator(FEATURE_SPEC_SCHEMA)
    for contract in CONTRACTS.values():
        validator.validate(json.loads(json.dumps(contract.feature_spec())))
    assert COVERTYPE.feature_spec()["spec_version"] == SPEC_VERSION
