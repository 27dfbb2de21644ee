"""A data_api group that has delivered its last batch, met by the real ingest (real MySQL, a real
HTTP server answering as data_api does): nothing is ingested, nothing raises, the state is recorded,
the restart hint is logged once, and a restarted group is recorded as serving again."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from mlops_pipelines import source_state
from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.ingestion import ingest_covertype
from mlops_pipelines.sources import COVERTYPE_RAW_COLUMNS
from mlops_pipelines.tables import RAW

pytestmark = pytest.mark.mysql

GROUP = 4
ROW = [2783, 48, 6, 361, -4, 886, 222, 227, 140, 1052, "Comanche", "C4704", 2]
END = {
    "detail": f"All 10 batches have been delivered for group {GROUP}. "
    f"Call GET /restart_data_generation?group_number={GROUP} to start again from batch 1.",
    "group_number": GROUP,
    "n_batches": 10,
}


def answer(replies, status: int, body: dict) -> None:
    replies.clear()  # the fake keeps the last request's path in the queue
    replies.append((status, body))


def ingest(engine, url: str, replies, status: int, body: dict, group: int = GROUP) -> tuple[dict, source_state.SourceState]:
    """One ingest of data_api's answer; its result and the group's state after it."""
    answer(replies, status, body)
    result = ingest_covertype(engine, url, group)
    state = source_state.read(engine, COVERTYPE.name, group)
    assert state is not None
    return result, state


def batch(number: int, elevation: int) -> dict:
    return {"group_number": GROUP, "batch_number": number, "columns": COVERTYPE_RAW_COLUMNS, "data": [[elevation, *ROW[1:]]]}


def raw_rows(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(RAW[COVERTYPE.name])).scalar_one()


def ingest_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mlops_pipelines.ingestion" and r.levelno >= logging.WARNING]


def test_an_exhausted_group_is_recorded_and_warned_about_once(mysql_engine, fake_data_api, caplog):
    url, replies = fake_data_api
    caplog.set_level(logging.INFO, logger="mlops_pipelines.ingestion")

    served, serving = ingest(mysql_engine, url, replies, 200, batch(10, 2783))
    assert (served["batch_number"], served["inserted"]) == (10, 1)
    assert (serving.batch_number, serving.exhausted) == (10, False)

    first, state = ingest(mysql_engine, url, replies, 410, END)  # no exception
    assert state.exhausted and state.batch_number == 10
    assert first == {
        "exhausted": True,
        "first": True,
        "group_number": GROUP,
        "batch_number": 10,
        "exhausted_at": state.exhausted_at.isoformat(),  # type: ignore[union-attr]  # exhausted: set
    }
    [warning] = ingest_warnings(caplog)
    assert f"data_api group {GROUP} is exhausted: it delivered its last batch (10)" in warning
    assert f"GET {url}/restart_data_generation?group_number={GROUP}" in warning
    assert raw_rows(mysql_engine) == 1

    # Later runs only note it: no second warning, the time the end was first met stays.
    caplog.clear()
    # Without n_batches (the course API): the last batch received stands.
    again, later = ingest(mysql_engine, url, replies, 410, {"detail": "no more data"})
    assert (again["first"], again["batch_number"], again["exhausted_at"]) == (False, 10, first["exhausted_at"])
    assert ingest_warnings(caplog) == []
    assert any("still exhausted" in r.getMessage() for r in caplog.records)
    assert later.exhausted_at == state.exhausted_at and later.checked_at >= state.checked_at

    # Restarted at data_api: the group serves batch 1 again, and the state says so.
    restarted, serving_again = ingest(mysql_engine, url, replies, 200, batch(1, 2784))
    assert (restarted["batch_number"], restarted["inserted"]) == (1, 1)
    assert (serving_again.batch_number, serving_again.exhausted) == (1, False)
    # A second end is a new end: warned about again.
    assert ingest(mysql_engine, url, replies, 410, END)[0]["first"] is True
    assert len(ingest_warnings(caplog)) == 1


def test_groups_are_recorded_apart(mysql_engine, fake_data_api):
    url, replies = fake_data_api
    _, exhausted = ingest(mysql_engine, url, replies, 410, END)
    _, serving = ingest(mysql_engine, url, replies, 200, {**batch(3, 2790), "group_number": 2}, group=2)
    assert exhausted.exhausted and exhausted.batch_number == 10
    assert not serving.exhausted and serving.batch_number == 3
    assert source_state.read(mysql_engine, COVERTYPE.name, GROUP) == exhausted
