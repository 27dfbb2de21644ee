"""Bounded requests: a body over INFERENCE_MAX_BODY_BYTES gets a 413 before it is parsed; a 422 stays small."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi.testclient import TestClient
from served import penguins_app
from specs import PENGUIN_ROW

from inference.settings import Settings


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(penguins_app(Settings(max_body_bytes=1_000_000)))


def test_a_body_over_the_limit_gets_413_before_it_is_parsed(client):
    huge = b'{"' + b"x" * 15_000_000 + b'": 1}'
    started = time.perf_counter()
    answer = client.post("/predict/penguins", content=huge, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    [problem] = answer.json()["detail"]
    assert problem["type"] == "too_large" and "INFERENCE_MAX_BODY_BYTES" in problem["msg"]
    assert time.perf_counter() - started < 2  # nothing parsed 15 MB
    assert client.get("/health").json() == {"status": "ok"}


def test_a_chunked_body_is_counted_as_it_arrives(client):
    def chunks():
        yield b'{"rows": ['
        for _ in range(20_000):
            yield b'{"island": "Biscoe", "bill_length_mm": 45.2, "bill_depth_mm": 15.8},'
        yield b"{}]}"

    answer = client.post("/predict/penguins", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


def test_a_body_under_the_limit_is_answered(client):
    assert client.post("/predict/penguins", json={"rows": [PENGUIN_ROW] * 1000}).status_code == 200


def test_a_422_lists_at_most_20_problems_and_how_many_more(client):
    unknown = {**PENGUIN_ROW, **{f"field_{i}": 1 for i in range(50_000)}}
    answer = client.post("/predict/penguins", json=unknown)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert len(detail) == 21 and detail[-1]["type"] == "too_many_errors"
    assert detail[-1]["msg"].startswith("... and 49980 more problems")
    assert len(answer.content) < 50_000


def test_the_limit_is_a_setting(monkeypatch):
    monkeypatch.setenv("INFERENCE_MAX_BODY_BYTES", "4096")
    assert Settings().max_body_bytes == 4096
    assert httpx  # the TestClient's transport
