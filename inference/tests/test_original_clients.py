"""The original clients' calls, unchanged: the penguin service's and the Covertype course UI's."""

from __future__ import annotations

import pytest
from specs import COVER_ROW, COVERTYPE_SPEC, PENGUIN_ROW

pytestmark = pytest.mark.mlflow

# The penguin project's documented body, verbatim.
DOCUMENTED_PENGUIN = {
    "island": "Biscoe",
    "bill_length_mm": 39.1,
    "bill_depth_mm": 18.7,
    "flipper_length_mm": 181.0,
    "body_mass_g": 3750.0,
    "sex": "male",
}
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}
COVER_VALUES = [COVER_ROW[f["name"]] for f in COVERTYPE_SPEC["features"]]


def assert_penguin_answer(answer: dict, model: str, version: str) -> None:
    assert set(answer) == {"species", "confidence", "probabilities", "model", "version"}
    assert answer["species"] in SPECIES and set(answer["probabilities"]) == SPECIES
    assert answer["confidence"] == answer["probabilities"][answer["species"]] == max(answer["probabilities"].values())
    assert (answer["model"], answer["version"]) == (model, version)


def test_one_penguin_as_the_penguin_project_posts_it(client, registered):
    name = registered["names"]["penguins"]
    answer = client.post("/predict", json=DOCUMENTED_PENGUIN)
    assert answer.status_code == 200, answer.text
    assert_penguin_answer(answer.json(), name, "1")
    # The same model and numbers as the platform's own route.
    own = client.post(f"/models/{name}/predict", json=DOCUMENTED_PENGUIN).json()["predictions"][0]
    assert answer.json()["probabilities"] == own["probabilities"] and answer.json()["species"] == own["label"]


def test_a_batch_answers_each_penguin_in_request_order(client, registered):
    name = registered["names"]["penguins"]
    penguins = [DOCUMENTED_PENGUIN, PENGUIN_ROW, {**PENGUIN_ROW, "sex": None}]
    response = client.post("/predict/batch", json={"penguins": penguins})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model"], body["version"]) == (name, "1") and len(body["predictions"]) == 3
    for penguin, answer in zip(penguins, body["predictions"]):
        assert_penguin_answer(answer, name, "1")
        alone = client.post("/predict", json=penguin).json()
        # A batch goes through the matrix product in one go: the same numbers to the last bits.
        assert answer["species"] == alone["species"]
        assert answer["probabilities"] == pytest.approx(alone["probabilities"], abs=1e-12)


def test_a_batch_over_the_limit_names_it(client):
    response = client.post("/predict/batch", json={"penguins": [DOCUMENTED_PENGUIN] * 101})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"type": "too_long", "loc": ["body", "penguins"], "msg": "has 101 penguins; at most 100 per request"}
    ]
    assert client.post("/predict/batch", json={"penguins": [DOCUMENTED_PENGUIN] * 100}).status_code == 200


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"penguins": []}, "is empty: send at least one penguin"),
        ({"penguins": "many"}, "must be a list of penguins"),
        ([DOCUMENTED_PENGUIN], 'the body must be {"penguins": [penguin, ...]}'),
    ],
)
def test_bad_batches_get_422(client, body, reason):
    response = client.post("/predict/batch", json=body)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["msg"]) == (["body", "penguins"], reason)


def test_a_bad_penguin_in_a_batch_is_named_by_its_position(client):
    response = client.post("/predict/batch", json={"penguins": [DOCUMENTED_PENGUIN, {**DOCUMENTED_PENGUIN, "island": "Atlantis"}]})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "value_error",
            "loc": ["body", "penguins", 1, "island"],
            "msg": "'Atlantis' is not one of: Biscoe, Dream, Torgersen",
            "row": 1,
        }
    ]


@pytest.mark.parametrize(
    "body, field, reason",
    [
        ({**DOCUMENTED_PENGUIN, "bill_length_mm": 99}, "bill_length_mm", "99 is outside the valid range [25, 70] mm"),
        ({**DOCUMENTED_PENGUIN, "bill_lenght_mm": 40}, "bill_lenght_mm", "unknown field"),
        ({k: v for k, v in DOCUMENTED_PENGUIN.items() if k != "island"}, "island", "missing"),
    ],
)
def test_a_bad_penguin_gets_422_naming_field_and_reason(client, body, field, reason):
    response = client.post("/predict", json=body)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", field] and problem["msg"].startswith(reason)


@pytest.mark.parametrize(
    "body, got",
    [
        ({"rows": [DOCUMENTED_PENGUIN]}, "an object with fields rows"),
        ({}, "an empty object"),
        ([DOCUMENTED_PENGUIN], "an array"),
        ("Adelie", "a string"),
        (None, "null"),
    ],
)
def test_a_body_of_neither_shape_is_told_the_two_shapes(client, body, got):
    response = client.post("/predict", json=body)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body"]
    assert "a penguin object" in problem["msg"] and '{"features": [...]}' in problem["msg"]
    assert problem["msg"].endswith(f"got {got}")


def test_a_covertype_row_as_a_feature_list(client, registered):
    name = registered["names"]["covertype"]
    response = client.post("/predict", json={"features": COVER_VALUES})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"prediction", "label_name", "confidence", "probabilities", "model", "version"}
    assert (answer["model"], answer["version"]) == (name, "1")
    assert answer["confidence"] == answer["probabilities"][str(answer["prediction"])] == max(answer["probabilities"].values())
    own = client.post(f"/models/{name}/predict", json=COVER_ROW).json()["predictions"][0]
    assert (answer["prediction"], answer["label_name"], answer["probabilities"]) == (own["label"], own["label_name"], own["probabilities"])
    # A row pasted whole from data_api: its last value, the cover type, is echoed back, not used.
    pasted = client.post("/predict", json={"features": [*COVER_VALUES, 3]}).json()
    assert pasted["actual"] == 3 and pasted["probabilities"] == answer["probabilities"]


@pytest.mark.parametrize(
    "body, loc, reason",
    [
        ({"features": COVER_VALUES[:-1]}, ["body", "features"], "has 11 values; expected 12 values (Elevation, Aspect, Slope, "),
        ({"features": "2783,6"}, ["body", "features"], "must be a list of 12 values"),
        ({"features": [99999, *COVER_VALUES[1:]]}, ["body", "features", 0], "Elevation: 99999 is outside the valid range [1859, 3858] m"),
        ({"features": [*COVER_VALUES[:11], "C0000"]}, ["body", "features", 11], "Soil_Type: 'C0000' is not one of"),
        ({"features": COVER_VALUES, "version": 2}, ["body", "version"], "unknown field"),
    ],
)
def test_a_bad_feature_list_gets_422_naming_field_and_reason(client, body, loc, reason):
    response = client.post("/predict", json=body)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == loc and problem["msg"].startswith(reason)


def test_the_caller_picks_the_model_on_every_original_route(client, registered):
    names, mlflow_client = registered["names"], registered["client"]
    assert client.post("/predict", params={"version": "2"}, json=DOCUMENTED_PENGUIN).json()["version"] == "2"
    mlflow_client.set_registered_model_alias(names["penguins"], "challenger", "2")
    batch = client.post("/predict/batch", params={"alias": "challenger"}, json={"penguins": [DOCUMENTED_PENGUIN]}).json()
    assert batch["version"] == "2" and batch["predictions"][0]["version"] == "2"
    assert client.get("/model/info", params={"version": "2"}).json()["version"] == "2"
    assert client.post("/predict", params={"version": "1"}, json={"features": COVER_VALUES}).json()["version"] == "1"
    assert client.post("/predict", params={"version": "99"}, json=DOCUMENTED_PENGUIN).status_code == 404
    listed = {m["name"] for m in client.get("/models").json()["models"]}
    assert listed == set(names.values())


def test_model_info_describes_the_production_penguin_model(client, registered):
    names, mlflow_client = registered["names"], registered["client"]
    # What the training DAG records on each version it registers.
    for key, value in {
        "training.family": "logistic_regression",
        "airflow.dag_id": "penguins_train",
        "airflow.run_id": "manual__2026-11-30",
    }.items():
        mlflow_client.set_model_version_tag(names["penguins"], "1", key, value)
    info = client.get("/model/info")
    assert info.status_code == 200, info.text
    body = info.json()
    assert (body["name"], body["version"]) == (names["penguins"], "1") and "production" in body["aliases"]
    assert body["family"] == "logistic_regression"
    assert (body["dag_id"], body["dag_run_id"]) == ("penguins_train", "manual__2026-11-30")
    assert body["metrics"]["test_accuracy"] == 0.91
    assert body["trained_at"] and body["registered_at"] and body["run_id"]
    assert body["target"] == "species" and body["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    island = next(f for f in body["features"] if f["name"] == "island")
    assert island["categories"] == ["Biscoe", "Dream", "Torgersen"]
    assert isinstance(body["hyperparameters"], dict)


def test_every_prediction_answer_has_a_confidence(client, registered):
    batch = client.post(f"/predict/{registered['prefix']}-penguins", json={"rows": [PENGUIN_ROW, DOCUMENTED_PENGUIN]}).json()
    for prediction in batch["predictions"]:
        assert prediction["confidence"] == max(prediction["probabilities"].values())


def test_openapi_documents_the_original_routes_with_working_examples(client, registered):
    names = registered["names"]
    schema = client.get("/openapi.json").json()
    predict = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert {ref["$ref"] for ref in predict["schema"]["anyOf"]} == {
        f"#/components/schemas/{names['penguins']}.row",
        "#/components/schemas/covertype.features",
    }
    features = schema["components"]["schemas"]["covertype.features"]["properties"]["features"]
    assert (features["minItems"], features["maxItems"]) == (12, 13)
    assert features["prefixItems"][0]["type"] == "integer" and features["prefixItems"][12]["enum"] == [1, 2, 3, 4, 5, 6, 7]
    for example in predict["examples"].values():
        assert client.post("/predict", json=example["value"]).status_code == 200, example
    batch = schema["paths"]["/predict/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert batch["schema"]["properties"]["penguins"]["maxItems"] == 100
    [example] = batch["examples"].values()
    assert client.post("/predict/batch", json=example["value"]).status_code == 200
    assert "ModelInfo" in str(schema["paths"]["/model/info"]["get"]["responses"]["200"])
