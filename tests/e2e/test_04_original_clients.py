"""The original clients, unchanged, against the running stack.

The penguin project's documented calls are run verbatim with curl, as its README
gives them; the Covertype course UI's call posts a row taken from data_api.
"""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest
import requests

from e2e.stack import wait_for

SPECIES = {"Adelie", "Chinstrap", "Gentoo"}
# The penguin project's documented body.
PENGUIN = (
    '{"island": "Biscoe", "bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0, "body_mass_g": 3750.0, "sex": "male"}'
)
TWO_PENGUINS = (
    '{"penguins": [' + PENGUIN + ', {"island": "Dream", "bill_length_mm": 49.3, "bill_depth_mm": 19.9, '
    '"flipper_length_mm": 203.0, "body_mass_g": 4050.0, "sex": "male"}]}'
)


@pytest.fixture(scope="module")
def ready(stack):
    return wait_for(
        lambda: requests.get(f"{stack.inference}/ready", timeout=10).status_code == 200, timeout=180, message="inference /ready"
    )


def curl(command: str) -> dict:
    """Run a documented curl command line as a person would paste it."""
    out = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def assert_penguin_answer(answer: dict, version: str) -> None:
    assert answer["species"] in SPECIES and set(answer["probabilities"]) == SPECIES
    assert answer["confidence"] == answer["probabilities"][answer["species"]] == max(answer["probabilities"].values())
    assert (answer["model"], answer["version"]) == ("penguins-classifier", version)


def test_the_penguin_projects_documented_calls(stack, ready, registry):
    production = str(registry.get_model_version_by_alias("penguins-classifier", "production").version)
    base = stack.inference

    one = curl(f"curl -s -X POST {base}/predict -H 'Content-Type: application/json' -d '{PENGUIN}'")
    assert_penguin_answer(one, production)
    assert one["species"] == "Adelie"

    batch = curl(f"curl -s -X POST {base}/predict/batch -H 'Content-Type: application/json' -d '{TWO_PENGUINS}'")
    assert len(batch["predictions"]) == 2
    for answer in batch["predictions"]:
        assert_penguin_answer(answer, production)
    assert batch["predictions"][0]["species"] == "Adelie" and batch["predictions"][1]["species"] == "Chinstrap"

    info = curl(f"curl -s {base}/model/info")
    assert (info["name"], info["version"]) == ("penguins-classifier", production) and "production" in info["aliases"]
    run = registry.get_run(info["run_id"])
    assert info["metrics"] == pytest.approx(run.data.metrics)
    assert info["family"] in {"logistic_regression", "random_forest", "svm"} and info["hyperparameters"]
    assert info["dag_id"] == "penguins_train" and info["dag_run_id"] and info["trained_at"]
    island = next(f for f in info["features"] if f["name"] == "island")
    assert island["categories"] == ["Biscoe", "Dream", "Torgersen"]

    assert curl(f"curl -s {base}/health") == {"status": "ok"}


def test_a_covertype_row_from_data_api_as_a_feature_list(stack, ready, registry):
    """The course UI's call: a row pasted from GET /data, its cover type echoed back as `actual`."""
    columns = requests.get(f"{stack.data_api}/", timeout=30).json()["columns"]
    spec = requests.get(f"{stack.inference}/models/covertype-classifier", timeout=30).json()["feature_spec"]
    # Rows travel by position: data_api's column order must be the model's feature order.
    assert columns == [f["name"] for f in spec["features"]] + [spec["target"]["name"]]

    row = requests.get(f"{stack.data_api}/data", params={"group_number": 10}, timeout=30).json()["data"][0]
    answer = requests.post(f"{stack.inference}/predict", json={"features": row}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["actual"] == row[-1] and body["prediction"] in range(1, 8)
    assert body["model"] == "covertype-classifier"
    assert body["version"] == str(registry.get_model_version_by_alias("covertype-classifier", "production").version)
    assert body["confidence"] == max(body["probabilities"].values())
    # Without the cover type, the same answer.
    alone = requests.post(f"{stack.inference}/predict", json={"features": row[:-1]}, timeout=30).json()
    assert "actual" not in alone and alone["probabilities"] == body["probabilities"]


def test_neither_shape_is_told_both(stack, ready):
    answer = requests.post(f"{stack.inference}/predict", json={"rows": []}, timeout=30)
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body"] and "a penguin object" in problem["msg"] and '{"features": [...]}' in problem["msg"]
