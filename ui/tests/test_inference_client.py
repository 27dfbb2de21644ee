"""The typed client against a real local HTTP server: every failure is a clear InferenceError."""

from __future__ import annotations

import pytest
from tests.canned import COVERTYPE, PENGUINS

from tests import canned
from ui import model_view
from ui.inference_client import (
    FieldProblem,
    InferenceClient,
    InferenceUnreachable,
    InputRejected,
    ModelNotReady,
    NotFound,
    UnexpectedAnswer,
)


@pytest.fixture
def client(fake):
    canned.serve_models(fake)
    return InferenceClient(fake.url + "/")


def test_models(client):
    penguins, covertype = client.models()
    assert (penguins.name, penguins.dataset, penguins.production_version) == (PENGUINS, "penguins", "3")
    assert [v.version for v in penguins.versions] == ["4", "3", "2"]
    assert penguins.versions[0].aliases == ("challenger",)
    assert penguins.aliases == {"production": "3", "challenger": "4"}
    assert penguins.state == "ready" and penguins.loaded_versions == ("3",)
    assert covertype.dataset == "covertype"


def test_model_detail_and_its_query(client, fake):
    detail = client.model_detail(COVERTYPE, version="2")
    assert fake.requests[-1].query == {"version": "2"}
    assert detail.version == "2" and detail.metrics["test_accuracy"] == 0.942
    assert detail.spec.feature("Elevation").is_integer
    assert detail.spec.class_name(1) == "Spruce/Fir"
    assert detail.input_example == canned.COVERTYPE_EXAMPLE
    client.model_detail(PENGUINS, alias="challenger")
    assert fake.requests[-1].query == {"alias": "challenger"}
    assert (detail.candidates_evaluated, detail.partial_grid) == (None, False)  # not reported


def test_model_detail_reads_the_grid_coverage(client, fake):
    partial = {"candidates_evaluated": 6, "candidates_total": 10, "partial": True}
    fake.on("GET", f"/models/{PENGUINS}", (200, {**canned.detail(PENGUINS, "3"), "grid": partial}))
    detail = client.model_detail(PENGUINS)
    assert (detail.candidates_evaluated, detail.candidates_total, detail.partial_grid) == (6, 10, True)


def test_predict_one_row_sends_an_object(client, fake):
    result = client.predict(PENGUINS, canned.PENGUINS_EXAMPLE[0])
    assert fake.requests[-1].body == canned.PENGUINS_EXAMPLE[0]
    assert (result.model, result.version) == (PENGUINS, "3")
    [prediction] = result.predictions
    assert prediction.label_name == "Adélie penguin"
    assert prediction.confidence == 0.97


def test_predict_batch_sends_rows_even_for_one(client, fake):
    client.predict_batch(COVERTYPE, canned.COVERTYPE_EXAMPLE, version="4")
    assert fake.requests[-1].body == {"rows": canned.COVERTYPE_EXAMPLE}
    assert fake.requests[-1].query == {"version": "4"}


def test_rejection_carries_field_reason_and_row(client):
    with pytest.raises(InputRejected) as caught:
        client.predict_batch(PENGUINS, [canned.PENGUINS_EXAMPLE[0], {**canned.PENGUINS_EXAMPLE[0], "island": "Atlantis"}])
    assert caught.value.problems == [FieldProblem("island", "'Atlantis' is not one of: Biscoe, Dream, Torgersen", 1)]


def test_fastapis_own_validation_errors_have_the_same_shape(fake):
    fake.on(
        "POST",
        f"/models/{PENGUINS}/predict",
        (
            422,
            {
                "detail": [
                    {"type": "string_pattern_mismatch", "loc": ["query", "version"], "msg": "String should match pattern", "input": "two"}
                ]
            },
        ),
    )
    with pytest.raises(InputRejected) as caught:
        InferenceClient(fake.url).predict(PENGUINS, {})
    assert caught.value.problems == [FieldProblem("version", "String should match pattern")]


@pytest.mark.parametrize(
    "status, body, error, message",
    [
        (
            *canned.error(503, "penguins-classifier cannot answer yet: no version of penguins-classifier has the alias 'production' yet"),
            ModelNotReady,
            "has the alias 'production' yet",
        ),
        (*canned.error(404, "no version 9 of penguins-classifier"), NotFound, "no version 9"),
        (500, b"Internal Server Error", UnexpectedAnswer, "HTTP 500: Internal Server Error"),
        (200, b"<html>", UnexpectedAnswer, "not JSON"),
        (200, {"models": [{"nope": 1}]}, UnexpectedAnswer, "unexpected body"),
    ],
)
def test_failures_are_clear_errors(fake, status, body, error, message):
    fake.on("GET", "/models", (status, body))
    with pytest.raises(error, match=message):
        InferenceClient(fake.url).models()


def test_unreachable():
    with pytest.raises(InferenceUnreachable, match=r"http://127.0.0.1:9 cannot be reached \(ConnectionError\)"):
        InferenceClient("http://127.0.0.1:9").models()


def test_a_model_with_a_spec_version_this_ui_does_not_know_is_refused(fake):
    newer = {**canned.detail(PENGUINS), "feature_spec": {**canned.PENGUINS_SPEC, "spec_version": 2}}
    fake.on("GET", f"/models/{PENGUINS}", (200, newer))
    with pytest.raises(UnexpectedAnswer, match="spec_version 2; this UI reads versions 1: upgrade the UI"):
        InferenceClient(fake.url).model_detail(PENGUINS)


def test_an_api_key_is_sent_as_a_bearer_token_on_every_call(fake):
    canned.serve_models(fake)
    keyed = InferenceClient(fake.url, api_key="k-123")
    keyed.models()
    keyed.predict(PENGUINS, canned.PENGUINS_EXAMPLE[0])
    assert [r.headers.get("Authorization") for r in fake.requests] == ["Bearer k-123", "Bearer k-123"]
    InferenceClient(fake.url).models()
    assert "Authorization" not in fake.requests[-1].headers


def test_a_refused_key_is_reported_with_inferences_reason(fake):
    fake.on(
        "GET",
        "/models",
        (
            401,
            {
                "detail": [
                    {
                        "type": "unauthorized",
                        "loc": ["header", "Authorization"],
                        "msg": "this route needs an API key: send `Authorization: Bearer <key>` with one of INFERENCE_API_KEYS",
                    }
                ]
            },
        ),
    )
    with pytest.raises(UnexpectedAnswer, match="HTTP 401: .*INFERENCE_API_KEYS"):
        InferenceClient(fake.url, api_key="wrong").models()


def test_history_reads_the_moves_newest_first(client, fake):
    moves = [
        {
            "id": 3,
            "model": PENGUINS,
            "alias": "production",
            "from_version": "2",
            "to_version": "1",
            "path": "rollback",
            "moved_at": "2026-12-02T14:01:00Z",
        },
        {
            "id": 2,
            "model": PENGUINS,
            "alias": "production",
            "from_version": "1",
            "to_version": "2",
            "path": "webhook",
            "moved_at": "2026-12-02T14:00:00Z",
        },
        {
            "id": 1,
            "model": PENGUINS,
            "alias": "production",
            "from_version": None,
            "to_version": "1",
            "path": "poll",
            "moved_at": "2026-12-01T09:00:00Z",
        },
    ]
    fake.on("GET", f"/models/{PENGUINS}/history", (200, {"name": PENGUINS, "recorded": True, "moves": moves}))
    history = client.history(PENGUINS)
    assert [(m.from_version, m.to_version, m.path) for m in history] == [("2", "1", "rollback"), ("1", "2", "webhook"), (None, "1", "poll")]
    table = model_view.history_table(history)
    assert table.to_dict("records")[0] == {
        "when (UTC)": "2026-12-02 14:01:00",
        "alias": "production",
        "from": "2",
        "to": "1",
        "through": "rollback",
    }
    assert table["from"].tolist()[-1] == "–" and table["through"].tolist()[1] == "MLflow's webhook"


def test_history_of_an_unexpected_shape_is_reported(client, fake):
    fake.on("GET", f"/models/{PENGUINS}/history", (200, {"name": PENGUINS}))
    with pytest.raises(UnexpectedAnswer, match="history"):
        client.history(PENGUINS)
