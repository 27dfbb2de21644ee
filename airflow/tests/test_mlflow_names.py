"""One place per MLflow name: the published conventions come from mlflow_names, and no other
module of the package spells one of its names out."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from mlops_pipelines import mlflow_names
from mlops_pipelines.contracts import CONVENTIONS, PENGUINS

PACKAGE = Path(mlflow_names.__file__).resolve().parent
CONTRACT_DIR = Path(__file__).resolve().parents[2] / "contract"


def names() -> dict[str, str]:
    """Every string constant of mlflow_names, by its value."""
    return {value: key for key, value in vars(mlflow_names).items() if key.isupper() and isinstance(value, str)}


def test_the_conventions_are_the_names_module_s():
    assert CONVENTIONS["model_name_suffix"] is mlflow_names.MODEL_NAME_SUFFIX
    assert CONVENTIONS["production_alias"] is mlflow_names.PRODUCTION_ALIAS
    assert CONVENTIONS["feature_spec_metadata_key"] is mlflow_names.FEATURE_SPEC_METADATA_KEY
    assert CONVENTIONS["feature_spec_file"] is mlflow_names.FEATURE_SPEC_FILE
    assert CONVENTIONS["version_tags"] == {
        "family": mlflow_names.TAG_FAMILY,
        "dag_id": mlflow_names.TAG_DAG_ID,
        "dag_run_id": mlflow_names.TAG_RUN_ID,
    }
    assert PENGUINS.registered_model_name == mlflow_names.registered_model_name("penguins") == "penguins-classifier"


def test_inference_and_the_ui_read_the_same_names():
    """contract/conventions.json, which their tests hold their constants to, carries these values."""
    published = json.loads((CONTRACT_DIR / "conventions.json").read_text())
    assert published == json.loads(json.dumps(CONVENTIONS))
    assert published["production_alias"] == "production" and published["feature_spec_file"] == "feature_spec.json"


# Values that are also ordinary words elsewhere (a failure kind, a log line's state).
COMMON_WORDS = {"model", "parent", "candidate", "promoted", "not_promoted"}


def spelled_out(path: Path, root: Path = PACKAGE) -> list[str]:
    """Where a module writes one of mlflow_names' values as a string of its own (docstrings included)."""
    known = {value: key for value, key in names().items() if value not in COMMON_WORDS}
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path.relative_to(root)}:{node.lineno}: {node.value!r} is mlflow_names.{known[node.value]}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known
    ]


def test_no_module_spells_out_an_mlflow_name():
    assert {"training.role", "production", "feature_spec.json", "monitoring.check_id"} <= set(names())
    own = Path(mlflow_names.__file__).resolve()
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) if path != own for hit in spelled_out(path)]
    assert not found, "\n".join(found)


def test_the_check_finds_a_spelled_out_name(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('TAG = "retrain.reason"\nALIAS = f"@{TAG}" + "production"\nKIND = "model"\n')
    assert [hit.split(": ", 1)[1] for hit in spelled_out(planted, tmp_path)] == [
        "'retrain.reason' is mlflow_names.TAG_RETRAIN_REASON",
        "'production' is mlflow_names.PRODUCTION_ALIAS",
    ]
