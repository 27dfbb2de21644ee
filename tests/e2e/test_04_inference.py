"""Inference on the running stack: production models answer, promotions are picked up."""

from __future__ import annotations

import pytest
import requests

# The example rows live with the load generator (the chaos tier and bench/soak.py use them too).
from e2e.load import COVER, PENGUIN
from e2e.stack import wait_for, wait_until


def production_version(registry, name):
    return str(registry.get_model_version_by_alias(name, "production").version)


@pytest.fixture(scope="module")
def ready(stack):
    return wait_for(
        lambda: requests.get(f"{stack.inference}/ready", timeout=10).status_code == 200, timeout=180, message="inference /ready"
    )


@pytest.mark.parametrize(
    "dataset, row, name",
    [
        ("penguins", PENGUIN, "penguins-classifier"),
        ("covertype", COVER, "covertype-classifier"),
    ],
)
def test_predicts_with_the_production_version(stack, registry, ready, dataset, row, name):
    answer = requests.post(f"{stack.inference}/predict/{dataset}", json=row, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == name
    assert body["version"] == production_version(registry, name)
    [prediction] = body["predictions"]
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)
    if dataset == "penguins":
        assert prediction["label"] == "Gentoo"


def test_rejected_input_names_field_and_reason(stack, ready):
    answer = requests.post(f"{stack.inference}/predict/covertype", json={**COVER, "Soil_Type": "C0000"}, timeout=30)
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", "Soil_Type"] and "C5151" in problem["msg"]


def test_promotion_in_mlflow_is_picked_up_without_restart(stack, registry, ready, penguins_other_version):
    name = "penguins-classifier"
    current = production_version(registry, name)
    other = penguins_other_version
    assert other != current
    registry.set_registered_model_alias(name, "production", other)
    try:
        wait_until(
            lambda: requests.post(f"{stack.inference}/predict/penguins", json=PENGUIN, timeout=30).json()["version"],
            lambda seen: seen == other,
            timeout=60,
            message=f"version {other} to answer",
        )
    finally:
        registry.set_registered_model_alias(name, "production", current)
    wait_until(
        lambda: requests.post(f"{stack.inference}/predict/penguins", json=PENGUIN, timeout=30).json()["version"],
        lambda seen: seen == current,
        timeout=60,
        message=f"version {current} back",
    )


def test_caller_chooses_a_version(stack, registry, ready):
    answer = requests.post(
        f"{stack.inference}/models/covertype-classifier/predict", params={"version": "1"}, json={"rows": [COVER, COVER]}, timeout=60
    )
    assert answer.status_code == 200 and answer.json()["version"] == "1" and len(answer.json()["predictions"]) == 2
