import json
from pathlib import Path

import pytest

from data_api.atomic import atomic_write
from data_api.state import STATE_FILE_NAME, GroupState, StateStore


def test_round_trip(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    assert store.load() == {}
    groups = {2: GroupState(3, 1000.5), 1: GroupState(1, 42.0)}
    store.save(groups)
    assert StateStore(tmp_path).load() == groups
    doc = json.loads((tmp_path / STATE_FILE_NAME).read_text())
    assert doc["groups"]["2"] == {"batch_number": 3, "batch_started_at": 1000.5}


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old complete content")

    def half_write_then_fail(tmp: Path) -> None:
        tmp.write_text("partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_write_then_fail)
    assert target.read_text() == "old complete content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_failed_first_write_creates_nothing(tmp_path: Path) -> None:
    def fail(tmp: Path) -> None:
        tmp.write_text("{")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "state.json", fail)
    assert list(tmp_path.iterdir()) == []


def test_save_failure_keeps_previous_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = StateStore(tmp_path)
    store.save({1: GroupState(2, 10.0)})

    def broken_dumps(*args: object, **kwargs: object) -> str:
        raise ValueError("cannot serialise")

    monkeypatch.setattr("data_api.state.json.dumps", broken_dumps)
    with pytest.raises(ValueError):
        store.save({1: GroupState(5, 99.0)})
    monkeypatch.undo()
    assert store.load() == {1: GroupState(2, 10.0)}


def test_corrupt_file_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE_NAME).write_text('{"groups": {"1": {"batch_num')
    assert StateStore(tmp_path).load() == {}
    assert not (tmp_path / STATE_FILE_NAME).exists()
    assert len(list(tmp_path.glob(f"{STATE_FILE_NAME}.corrupt-*"))) == 1
