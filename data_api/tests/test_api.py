import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from data_api import dataset
from data_api.settings import Settings

from .conftest import FakeClock, make_frame
from .test_dataset import uci_rows

MakeClient = Callable[..., TestClient]


def get_data(client: TestClient, group: Any) -> Any:
    return client.get("/data", params={"group_number": group})


def problem(r: Any) -> dict[str, Any]:
    """The answer's one problem, checked to be in the shape inference answers too."""
    detail = r.json()["detail"]
    assert isinstance(detail, list) and len(detail) == 1, detail
    assert {"type", "loc", "msg"} <= set(detail[0]), detail
    return detail[0]


def test_health_docs_openapi_root(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "rows": 200, "n_groups": 3, "n_batches": 5}
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/data", "/restart_data_generation", "/health", "/groups/{group_number}"} <= set(paths)
    assert len(client.get("/").json()["columns"]) == 13


def test_data_shape_types_and_fraction(client: TestClient, frame: pd.DataFrame) -> None:
    r = get_data(client, 2)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"group_number", "batch_number", "columns", "data"}  # the course API's answer, plus columns
    assert (body["group_number"], body["batch_number"]) == (2, 1)
    assert body["columns"] == list(frame.columns)  # each value named, in row order
    assert len(body["data"]) == 10  # 25 % of a 40-row batch
    by_id = {row[0]: row for row in frame.itertuples(index=False, name=None)}
    for row in body["data"]:
        assert len(row) == 13
        assert all(type(v) is int for v in row[:10]) and type(row[12]) is int
        assert type(row[10]) is str and type(row[11]) is str
        assert tuple(row) == by_id[row[0]]  # a real row, unchanged


def test_samples_are_fresh_and_from_the_same_batch(make_client: MakeClient, settings: Settings) -> None:
    client = make_client(settings.model_copy(update={"sample_fraction": 0.1, "n_batches": 2}))
    ids = [frozenset(row[0] for row in get_data(client, 1).json()["data"]) for _ in range(5)]
    assert all(len(s) == 10 for s in ids)
    assert len(set(ids)) > 1  # fresh random sample per request
    # All samples come from one 100-row batch.
    assert len(frozenset().union(*ids)) <= 100


def test_rotation_covers_every_row_once(make_client: MakeClient, settings: Settings, clock: FakeClock) -> None:
    client = make_client(settings.model_copy(update={"sample_fraction": 1.0}))
    seen: list[int] = []
    for expected_batch in range(1, 6):
        body = get_data(client, 1).json()
        assert body["batch_number"] == expected_batch
        assert len(body["data"]) == 40
        seen += [row[0] for row in body["data"]]
        clock.advance(60)
    assert sorted(seen) == list(range(2000, 2200))
    r = get_data(client, 1)
    assert r.status_code == 410


def test_rotation_skips_several_intervals(client: TestClient, clock: FakeClock) -> None:
    assert get_data(client, 1).json()["batch_number"] == 1
    clock.advance(59)
    assert get_data(client, 1).json()["batch_number"] == 1
    clock.advance(1 + 2 * 60 + 30)  # 3.5 intervals after start
    assert get_data(client, 1).json()["batch_number"] == 4
    st = client.get("/groups/1").json()
    assert st["batch_number"] == 4 and st["seconds_until_next_batch"] == pytest.approx(30)


def test_end_of_data_then_restart(client: TestClient, clock: FakeClock) -> None:
    get_data(client, 3)
    clock.advance(5 * 60)
    r = get_data(client, 3)
    assert r.status_code == 410
    gone = problem(r)
    assert (gone["type"], gone["loc"]) == ("exhausted", ["query", "group_number"])
    detail = gone["msg"]
    assert "All 5 batches have been delivered for group 3" in detail
    assert "/restart_data_generation?group_number=3" in detail
    # Which batch was the last, without parsing the sentence.
    assert (r.json()["group_number"], r.json()["n_batches"]) == (3, 5)
    assert client.get("/groups/3").json()["exhausted"] is True
    # Other groups are unaffected.
    assert get_data(client, 1).json()["batch_number"] == 1

    r = client.get("/restart_data_generation", params={"group_number": 3})
    assert r.status_code == 200
    assert r.json() == {"group_number": 3, "restarted": True, "message": "Group 3 restarted; the next GET /data starts batch 1."}
    assert client.get("/groups/3").json()["started"] is False
    body = get_data(client, 3).json()
    assert body["batch_number"] == 1 and len(body["data"]) == 10


def test_restart_mid_way(client: TestClient, clock: FakeClock) -> None:
    get_data(client, 2)
    clock.advance(130)
    assert get_data(client, 2).json()["batch_number"] == 3
    client.get("/restart_data_generation", params={"group_number": 2})
    clock.advance(10)
    assert get_data(client, 2).json()["batch_number"] == 1
    clock.advance(60)
    assert get_data(client, 2).json()["batch_number"] == 2


def test_state_survives_a_new_app(make_client: MakeClient, clock: FakeClock, settings: Settings) -> None:
    first = make_client()
    get_data(first, 1)
    clock.advance(10)
    get_data(first, 2)
    clock.advance(125)
    assert get_data(first, 1).json()["batch_number"] == 3

    second = make_client()  # same state dir: a restarted process
    assert get_data(second, 1).json()["batch_number"] == 3
    assert get_data(second, 2).json()["batch_number"] == 3  # 125 s after its start at +10 s
    clock.advance(50)  # t=185: group 1 is 185 s in, group 2 only 175 s
    assert get_data(second, 1).json()["batch_number"] == 4
    assert get_data(second, 2).json()["batch_number"] == 3
    saved = json.loads((settings.state_dir / "state.json").read_text())["groups"]
    assert saved["1"]["batch_number"] == 4 and saved["2"]["batch_number"] == 3


def test_same_seed_same_batches_across_apps(make_client: MakeClient, settings: Settings, clock: FakeClock) -> None:
    full = settings.model_copy(update={"sample_fraction": 1.0})
    a = {row[0] for row in get_data(make_client(full), 1).json()["data"]}
    other_dir = settings.model_copy(update={"sample_fraction": 1.0, "state_dir": settings.state_dir.parent / "s2"})
    b = {row[0] for row in get_data(make_client(other_dir), 1).json()["data"]}
    assert a == b and len(a) == 40


@pytest.mark.parametrize("group", [0, 4, -1, "abc", "1.5", ""])
@pytest.mark.parametrize("path", ["/data", "/restart_data_generation"])
def test_invalid_group_number(client: TestClient, path: str, group: Any) -> None:
    r = client.get(path, params={"group_number": group})
    assert r.status_code == 422
    invalid = problem(r)
    assert invalid["loc"] == ["query", "group_number"]
    assert invalid["msg"] == f"group_number must be an integer between 1 and 3 (got {group!r})"


@pytest.mark.parametrize("path", ["/data", "/restart_data_generation"])
def test_missing_group_number(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 422
    assert problem(r) == {
        "type": "missing",
        "loc": ["query", "group_number"],
        "msg": "group_number is required: an integer between 1 and 3",
        "input": None,
    }


@pytest.mark.parametrize("group", ["0", "4", "abc"])
def test_invalid_group_status(client: TestClient, group: str) -> None:
    r = client.get(f"/groups/{group}")
    assert r.status_code == 422
    invalid = problem(r)
    assert invalid["loc"] == ["path", "group_number"] and "between 1 and 3" in invalid["msg"]


def test_invalid_request_does_not_start_a_clock(client: TestClient, settings: Settings) -> None:
    get_data(client, 99)
    assert not (settings.state_dir / "state.json").exists()


def test_app_downloads_when_data_file_missing(make_client: MakeClient, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = uci_rows()
    monkeypatch.setattr(dataset, "_fetch_covtype", lambda **kw: SimpleNamespace(data=x, target=y))
    s = settings.model_copy(update={"data_path": Path("/nonexistent/covertype.csv.gz"), "n_batches": 1, "sample_fraction": 1.0})
    body = get_data(make_client(s), 1).json()
    assert sorted(body["data"]) == sorted(
        [
            [2783, 48, 6, 361, -4, 886, 222, 227, 140, 1052, "Comanche", "C4704", 2],
            [3000, 0, 0, 0, 0, 0, 0, 0, 0, 0, "Rawah", "C2702", 1],
            [1859, 360, 66, 1397, -173, 7117, 254, 254, 254, 7173, "Cache", "C8776", 7],
        ]
    )
    assert (settings.state_dir / "covertype.csv.gz").is_file()


def test_startup_fails_on_too_few_rows(make_client: MakeClient, settings: Settings, tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    make_frame(3).to_csv(small, index=False)
    with pytest.raises(ValueError, match="3 rows"):
        make_client(settings.model_copy(update={"data_path": small}))


def test_per_call_default_a_late_client_gets_every_batch(make_client: MakeClient, settings: Settings, clock: FakeClock) -> None:
    """The course API's behaviour: a client that waits 3.5 intervals gets the next batch, and every
    batch of the group is delivered before the 410."""
    assert Settings(data_path=settings.data_path).advance == "per_call"
    client = make_client(settings.model_copy(update={"advance": "per_call", "sample_fraction": 1.0}))
    seen: dict[int, set[int]] = {}
    for _ in range(settings.n_batches):
        body = get_data(client, 1).json()
        seen[body["batch_number"]] = {row[0] for row in body["data"]}
        clock.advance(3.5 * settings.batch_interval_seconds)
    assert list(seen) == [1, 2, 3, 4, 5]
    assert sorted(v for rows in seen.values() for v in rows) == list(range(2000, 2200))
    r = get_data(client, 1)
    assert r.status_code == 410 and "All 5 batches have been delivered for group 1" in problem(r)["msg"]
    assert client.get("/groups/1").json()["exhausted"] is True
    assert client.get("/").json()["advance"] == "per_call"


def test_offline_without_data_it_starts_and_says_what_is_missing(
    make_client: MakeClient, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No file, no cached copy, no network: up with 503s naming the setting and the address, logged once."""
    import urllib.error

    def offline(**kwargs: Any) -> Any:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(dataset, "_fetch_covtype", offline)
    s = settings.model_copy(update={"data_path": Path("/nonexistent/covertype.csv.gz")})
    with caplog.at_level("ERROR", logger="data_api"):
        client = make_client(s)
        health = client.get("/health")
        assert health.status_code == 503
        reason = problem(health)["msg"]
        assert "DATA_API_DATA_PATH" in reason and "/nonexistent/covertype.csv.gz" in reason
        assert "Temporary failure in name resolution" in reason and "download from" in reason
        for path in ("/data?group_number=1", "/restart_data_generation?group_number=1", "/groups/1", "/"):
            answer = client.get(path)
            assert answer.status_code == 503 and problem(answer) == {"type": "unavailable", "loc": [], "msg": reason}, path
    assert [r.getMessage() for r in caplog.records if r.name == "data_api"] == [reason]


def test_a_group_in_elevation_order_gets_the_lowest_rows_first(make_client: MakeClient, settings: Settings) -> None:
    client = make_client(settings.model_copy(update={"sample_fraction": 1.0, "order_groups": {2: "elevation"}}))
    # make_frame's Elevation is 2000..2199: the lowest 40 rows are batch 1 of the elevation order.
    lowest = sorted(row[0] for row in get_data(client, 2).json()["data"])
    assert lowest == list(range(2000, 2040))
    shuffled = sorted(row[0] for row in get_data(client, 1).json()["data"])
    assert len(shuffled) == 40 and shuffled != lowest
    assert client.get("/groups/2").json()["order"] == "elevation"
    assert client.get("/groups/1").json()["order"] == "shuffled"
    assert client.get("/").json()["order_groups"] == {"2": "elevation"}


def test_starlettes_own_errors_in_the_one_shape(client: TestClient) -> None:
    unknown = client.get("/nowhere")
    assert unknown.status_code == 404 and problem(unknown) == {"type": "not_found", "loc": [], "msg": "Not Found"}
    wrong_method = client.post("/data", params={"group_number": 1})
    assert wrong_method.status_code == 405 and problem(wrong_method)["type"] == "method_not_allowed"


def test_openapi_documents_every_route_and_its_errors(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, ops in schema["paths"].items():
        for op in ops.values():
            answers = op["responses"]
            assert "$ref" in answers["200"]["content"]["application/json"]["schema"], path
            assert answers["503"]["content"]["application/json"]["schema"] == error, path
    data = schema["paths"]["/data"]["get"]["responses"]
    assert data["410"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ExhaustedResponse"}
    assert data["422"]["content"]["application/json"]["schema"] == error
    assert set(schema["components"]["schemas"]["ErrorItem"]["properties"]) >= {"type", "loc", "msg"}


def test_a_group_with_its_own_interval_ends_sooner(make_client: MakeClient, settings: Settings, clock: FakeClock) -> None:
    """DATA_API_INTERVAL_GROUPS: one group runs through its batches in seconds, the others keep the common interval."""
    client = make_client(settings.model_copy(update={"advance": "per_call", "interval_groups": {2: 1.0}}))
    assert client.get("/").json()["interval_groups"] == {"2": 1.0}
    batches = []
    for _ in range(settings.n_batches):
        batches.append(get_data(client, 2).json()["batch_number"])
        assert get_data(client, 1).json()["batch_number"] == 1
        clock.advance(1)
    assert batches == [1, 2, 3, 4, 5]
    assert client.get("/groups/1").json()["seconds_until_next_batch"] == pytest.approx(settings.batch_interval_seconds - 5)
    assert get_data(client, 2).status_code == 410
    assert get_data(client, 1).json()["batch_number"] == 1
