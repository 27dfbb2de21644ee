"""Service tests: the inference app against a real MLflow server with registered models."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from conftest import log_version, wait_until
from specs import COVER_ROW, COVERTYPE_SPEC, PENGUIN_ROW, PENGUINS_SPEC

import mlflow
from inference.fast_path import frame

pytestmark = pytest.mark.mlflow


def test_both_datasets_predict_with_the_production_version(client, registered):
    names = registered["names"]
    one = client.post(f"/models/{names['penguins']}/predict", json=PENGUIN_ROW)
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["model"] == names["penguins"] and body["version"] == "1"
    [prediction] = body["predictions"]
    assert prediction["label"] in {"Adelie", "Chinstrap", "Gentoo"}
    assert set(prediction["probabilities"]) == {"Adelie", "Chinstrap", "Gentoo"}
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)
    assert prediction["label_name"].endswith("penguin")

    # The same numbers as the registered pipeline itself gives.
    pipeline = mlflow.sklearn.load_model(f"models:/{names['penguins']}/1")
    expected = pipeline.predict_proba(frame([PENGUIN_ROW], [f["name"] for f in PENGUINS_SPEC["features"]]))[0]
    got = [prediction["probabilities"][c] for c in ("Adelie", "Chinstrap", "Gentoo")]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)

    rows = [COVER_ROW, {**COVER_ROW, "Soil_Type": "C5151", "Elevation": 3500}]
    batch = client.post(f"/predict/{registered['prefix']}-covertype", json={"rows": rows})
    assert batch.status_code == 200, batch.text
    assert batch.json()["model"] == names["covertype"] and len(batch.json()["predictions"]) == 2
    assert all(set(p["probabilities"]) == {str(c) for c in COVERTYPE_SPEC["target"]["classes"]} for p in batch.json()["predictions"])


def test_model_details_come_from_the_registry(client, registered):
    names = registered["names"]
    detail = client.get(f"/models/{names['penguins']}").json()
    assert detail["version"] == "1" and detail["metrics"]["test_accuracy"] == 0.91
    assert detail["feature_spec"] == PENGUINS_SPEC
    assert '"name": "island"' in detail["signature"]["inputs"] and "Adelie" not in detail["signature"]["inputs"]
    assert detail["fast_path"] is True and len(detail["input_example"]) == 3
    assert detail["grid"] is None  # registered without the training DAG's grid tags
    # A version the training DAG registered from a partial grid says so (the UI's Model tab warns).
    for key, value in {"candidates_evaluated": "7", "candidates_total": "10", "partial_grid": "true"}.items():
        mlflow.MlflowClient().set_model_version_tag(names["penguins"], "1", key, value)
    grid = client.get(f"/models/{names['penguins']}").json()["grid"]
    assert grid == {"candidates_evaluated": 7, "candidates_total": 10, "partial": True}

    listing = {m["name"]: m for m in client.get("/models").json()["models"]}
    penguins = listing[names["penguins"]]
    assert penguins["production_version"] == "1"
    assert [v["version"] for v in penguins["versions"]] == ["2", "1"]
    assert "production" in penguins["versions"][1]["aliases"]
    # Production, and the challenger (kept loaded for shadow scoring) when another test aliased one.
    challenger = [penguins["aliases"]["challenger"]] if "challenger" in penguins["aliases"] else []
    assert penguins["loaded_versions"] == ["1", *challenger]


def test_openapi_publishes_the_served_models_row_schemas_and_examples(client, registered):
    """The predict bodies in /openapi.json come from the production models' feature specs."""
    names = registered["names"]
    schema = client.get("/openapi.json").json()
    rows = schema["components"]["schemas"]
    assert rows[f"{names['penguins']}.row"]["properties"]["island"] == {"type": "string", "enum": ["Biscoe", "Dream", "Torgersen"]}
    assert "sex" not in rows[f"{names['penguins']}.row"]["required"]  # nullable in the spec
    assert rows[f"{names['covertype']}.row"]["properties"]["Elevation"]["type"] == "integer"
    for path in ("/models/{name}/predict", "/predict/{dataset}"):
        body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        one_row, batch = body["schema"]["anyOf"]
        assert {ref["$ref"] for ref in one_row["anyOf"]} == {f"#/components/schemas/{n}.row" for n in names.values()}
        assert batch["properties"]["rows"]["maxItems"] == 1000
        # The examples are the models' own input examples, and they predict.
        example = body["examples"][f"{names['penguins']}: one row"]["value"]
        assert client.post(f"/models/{names['penguins']}/predict", json=example).status_code == 200


@pytest.mark.parametrize(
    "row, field, reason",
    [
        ({**PENGUIN_ROW, "island": "Atlantis"}, "island", "'Atlantis' is not one of: Biscoe, Dream, Torgersen"),
        ({**PENGUIN_ROW, "body_mass_g": "heavy"}, "body_mass_g", "must be a number, got str"),
        ({**PENGUIN_ROW, "bill_length_mm": 99}, "bill_length_mm", "99 is outside the valid range [25, 70] mm"),
        ({k: v for k, v in PENGUIN_ROW.items() if k != "island"}, "island", "missing"),
    ],
)
def test_bad_rows_get_422_naming_field_and_reason(client, registered, row, field, reason):
    response = client.post(f"/models/{registered['names']['penguins']}/predict", json=row)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["msg"]) == (["body", field], reason)
    assert problem["type"] == ("missing" if reason == "missing" else "value_error")


def test_bad_requests_are_4xx_never_5xx(client, registered):
    url = f"/models/{registered['names']['penguins']}/predict"
    nan = client.post(
        url,
        content=b'{"island": "Dream", "bill_length_mm": NaN, "bill_depth_mm": 18, "flipper_length_mm": 190, "body_mass_g": 3800, "sex": null}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 422 and nan.json()["detail"][0]["loc"] == ["body", "bill_length_mm"]
    not_json = client.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.json()["detail"][0]["type"] == "json_invalid"
    assert client.post(url, json={"rows": []}).json()["detail"] == [
        {"type": "too_short", "loc": ["body", "rows"], "msg": "is empty: send at least one row"}
    ]
    too_many = client.post(url, json={"rows": [PENGUIN_ROW] * 1001})
    assert too_many.status_code == 422 and "at most 1000" in too_many.json()["detail"][0]["msg"]
    batch = client.post(url, json={"rows": [PENGUIN_ROW, {**PENGUIN_ROW, "sex": "x"}]})
    assert batch.status_code == 422 and batch.json()["detail"] == [
        {"type": "value_error", "loc": ["body", "rows", 1, "sex"], "msg": "'x' is not one of: female, male", "row": 1}
    ]
    unknown = client.post("/models/nope/predict", json=PENGUIN_ROW)
    assert unknown.status_code == 404 and unknown.json()["detail"][0]["loc"] == ["path", "name"]
    assert client.post("/predict/nope", json=PENGUIN_ROW).json()["detail"][0]["type"] == "not_found"


def test_every_error_has_the_one_shape(client, registered):
    """FastAPI's validation shape for every 4xx and 5xx, whoever raised it."""
    answers = [
        client.post(f"/models/{registered['names']['penguins']}/predict", json={**PENGUIN_ROW, "island": "Atlantis"}),
        client.post(f"/models/{registered['names']['penguins']}/predict", params={"version": "two"}, json=PENGUIN_ROW),
        client.post("/predict/nope", json=PENGUIN_ROW),
        client.get("/no/such/path"),
        client.delete("/health"),
        client.post("/predict", json=[]),
    ]
    for answer in answers:
        assert 400 <= answer.status_code < 500
        [problem] = answer.json()["detail"]
        assert {"type", "loc", "msg"} <= set(problem), answer.json()
        assert isinstance(problem["loc"], list) and isinstance(problem["msg"], str)


def test_caller_chooses_a_version_or_an_alias(client, registered):
    names, mlflow_client = registered["names"], registered["client"]
    url = f"/models/{names['penguins']}/predict"
    assert client.post(url, params={"version": "2"}, json=PENGUIN_ROW).json()["version"] == "2"
    mlflow_client.set_registered_model_alias(names["penguins"], "challenger", "2")
    assert client.post(url, params={"alias": "challenger"}, json=PENGUIN_ROW).json()["version"] == "2"
    assert client.post(url, params={"alias": "production"}, json=PENGUIN_ROW).json()["version"] == "1"
    assert client.post(url, json=PENGUIN_ROW).json()["version"] == "1"
    assert client.post(url, params={"version": "99"}, json=PENGUIN_ROW).status_code == 404
    assert client.post(url, params={"alias": "nobody"}, json=PENGUIN_ROW).status_code == 404
    assert client.post(url, params={"version": "2", "alias": "challenger"}, json=PENGUIN_ROW).status_code == 422
    assert client.post(url, params={"version": "two"}, json=PENGUIN_ROW).status_code == 422
    assert client.get("/models").json()["models"][0]["loaded_versions"] == ["1", "2"]


def test_cache_of_other_versions_is_bounded(registered, make_client):
    names = registered["names"]
    client = make_client(names["penguins"], cache_size=1)
    url = f"/models/{names['penguins']}/predict"
    log_version(names["penguins"], PENGUINS_SPEC, "lr", seed=5)  # version 3
    for version in ("2", "3", "2"):
        assert client.post(url, params={"version": version}, json=PENGUIN_ROW).json()["version"] == version
    [listing] = client.get("/models").json()["models"]
    assert listing["loaded_versions"] == ["1", "2"]


def test_metrics_count_predictions_by_model_version_and_class(client, registered):
    name = registered["names"]["covertype"]
    client.post(f"/models/{name}/predict", json={"rows": [COVER_ROW] * 3})
    text = client.get("/metrics").text
    assert 'inference_predictions_total{label="' in text and f'model="{name}",version="1"' in text
    assert 'inference_request_duration_seconds_bucket{le="0.005",method="POST",route="/models/{name}/predict"}' in text


def test_promotion_is_picked_up_during_a_stream_of_requests(registered, make_client):
    from conftest import PENGUINS_SPEC as spec  # noqa: F401 (same spec)

    prefix = registered["prefix"]
    name = f"{prefix}-promo-classifier"
    log_version(name, PENGUINS_SPEC, "lr")
    log_version(name, PENGUINS_SPEC, "rf", seed=3)
    mlflow_client = registered["client"]
    mlflow_client.set_registered_model_alias(name, "production", "1")
    refresh = 1.0
    client = make_client(name, refresh_seconds=refresh)

    answers: list[tuple[float, int, str | None]] = []
    stop = threading.Event()

    def stream():
        while not stop.is_set():
            r = client.post(f"/models/{name}/predict", json=PENGUIN_ROW)
            answers.append((time.monotonic(), r.status_code, r.json().get("version") if r.status_code == 200 else r.text))

    # Daemon, and stopped in `finally`: a failed wait must not leave it posting forever.
    worker = threading.Thread(target=stream, daemon=True)
    worker.start()
    try:
        time.sleep(1.5)
        promoted_at = time.monotonic()
        mlflow_client.set_registered_model_alias(name, "production", "2")
        wait_until(lambda: answers and answers[-1][2] == "2", timeout=30, message="version 2 to answer")
        time.sleep(1.0)
    finally:
        stop.set()
        worker.join(30)

    assert all(status == 200 for _, status, _ in answers), [a for a in answers if a[1] != 200][:3]
    versions = [v for _, _, v in answers]
    switch = versions.index("2")
    assert set(versions[:switch]) == {"1"} and set(versions[switch:]) == {"2"}  # no flapping back
    picked_up_after = answers[switch][0] - promoted_at
    # Within one refresh interval plus the load of the new version.
    assert picked_up_after < refresh + 10, picked_up_after
    print(f"\npromotion picked up after {picked_up_after:.2f}s, {len(answers)} requests, all 200")


def test_a_version_that_fails_to_load_leaves_the_previous_one_serving(registered, make_client):
    name = f"{registered['prefix']}-broken-classifier"
    log_version(name, PENGUINS_SPEC, "lr")
    log_version(name, None, "lr")  # version 2 carries no feature spec
    mlflow_client = registered["client"]
    mlflow_client.set_registered_model_alias(name, "production", "1")
    client = make_client(name)
    mlflow_client.set_registered_model_alias(name, "production", "2")

    def failed():
        status = client.get("/ready").json()["models"][name]
        return status["state"] == "load_failed" and status

    status = wait_until(failed, timeout=30, message="load_failed in /ready")
    assert "version 2 failed to load" in status["detail"] and "still serving version 1" in status["detail"]
    assert client.get("/ready").status_code == 200  # a version still serves
    assert client.post(f"/models/{name}/predict", json=PENGUIN_ROW).json()["version"] == "1"


def test_starts_without_a_production_version_and_recovers_by_itself(registered, make_client):
    name = f"{registered['prefix']}-late-classifier"
    log_version(name, COVERTYPE_SPEC, "lr")
    client = make_client(name, wait_ready=False)
    assert client.get("/health").json() == {"status": "ok"}
    status = wait_until(
        lambda: client.get("/ready").json()["models"][name]["state"] == "no_production_version" and client.get("/ready"),
        timeout=30,
        message="no_production_version",
    )
    assert status.status_code == 503 and "no version of" in status.json()["models"][name]["detail"]
    refused = client.post(f"/models/{name}/predict", json=COVER_ROW)
    assert refused.status_code == 503 and "alias 'production'" in refused.json()["detail"][0]["msg"]
    registered["client"].set_registered_model_alias(name, "production", "1")
    wait_until(lambda: client.get("/ready").status_code == 200, timeout=30, message="ready after promotion")
    assert client.post(f"/models/{name}/predict", json=COVER_ROW).json()["version"] == "1"


def test_starts_with_mlflow_down(make_client):
    client = make_client("penguins-classifier", uri="http://127.0.0.1:9", wait_ready=False)
    assert client.get("/health").status_code == 200
    ready = wait_until(
        lambda: client.get("/ready").json()["models"]["penguins-classifier"]["state"] == "registry_unreachable" and client.get("/ready"),
        timeout=60,
        message="registry_unreachable",
    )
    assert ready.status_code == 503 and "cannot ask the MLflow registry" in ready.json()["models"]["penguins-classifier"]["detail"]
    refused = client.post("/predict/penguins", json=PENGUIN_ROW)
    assert refused.status_code == 503 and "cannot answer yet" in refused.json()["detail"][0]["msg"]
