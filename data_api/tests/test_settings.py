from pathlib import Path

import pytest
from pydantic import ValidationError

from data_api.settings import Settings

ENV_NAMES = [
    "DATA_PATH",
    "STATE_DIR",
    "SEED",
    "N_BATCHES",
    "N_GROUPS",
    "BATCH_INTERVAL_SECONDS",
    "SAMPLE_FRACTION",
    "ADVANCE",
    "ORDER",
    "ORDER_GROUPS",
    "INTERVAL_GROUPS",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(f"DATA_API_{name}", raising=False)


def test_defaults() -> None:
    s = Settings()
    assert s.data_path == Path("/data/covertype.csv.gz")
    assert s.state_dir == Path("/var/lib/data_api")
    assert (s.seed, s.n_batches, s.n_groups) == (42, 10, 10)
    assert s.batch_interval_seconds == 300
    assert s.sample_fraction == 0.1
    assert s.advance == "per_call"


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_API_DATA_PATH", "/tmp/x.csv.gz")
    monkeypatch.setenv("DATA_API_N_GROUPS", "4")
    monkeypatch.setenv("DATA_API_BATCH_INTERVAL_SECONDS", "2.5")
    monkeypatch.setenv("DATA_API_SAMPLE_FRACTION", "1")
    monkeypatch.setenv("N_GROUPS", "99")  # unprefixed: ignored
    s = Settings()
    assert s.data_path == Path("/tmp/x.csv.gz")
    assert s.n_groups == 4
    assert s.batch_interval_seconds == 2.5
    assert s.sample_fraction == 1.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("N_BATCHES", "0"),
        ("N_GROUPS", "-1"),
        ("N_GROUPS", "two"),
        ("BATCH_INTERVAL_SECONDS", "0"),
        ("SAMPLE_FRACTION", "0"),
        ("SAMPLE_FRACTION", "1.01"),
        ("SEED", "-5"),
    ],
)
def test_rejects_invalid_values(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(f"DATA_API_{name}", value)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert name.lower() in str(info.value)


def test_advance_mode_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_API_ADVANCE", "clock")
    assert Settings().advance == "clock"
    monkeypatch.setenv("DATA_API_ADVANCE", "hourly")
    with pytest.raises(ValidationError, match="advance"):
        Settings()


def test_order_is_shuffled_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert (s.order, s.order_groups, s.group_order(9)) == ("shuffled", {}, "shuffled")
    monkeypatch.setenv("DATA_API_ORDER", "elevation")
    assert Settings().group_order(3) == "elevation"


def test_order_groups_override_the_order_per_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_API_ORDER_GROUPS", " 9=elevation, 10=shuffled ,")
    s = Settings()
    assert s.order_groups == {9: "elevation", 10: "shuffled"}
    assert [s.group_order(g) for g in (1, 9, 10)] == ["shuffled", "elevation", "shuffled"]


@pytest.mark.parametrize("value", ["9", "9=height", "x=elevation", "9:elevation"])
def test_bad_order_groups_name_the_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DATA_API_ORDER_GROUPS", value)
    with pytest.raises(ValidationError, match="order_groups"):
        Settings()


def test_bad_order_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_API_ORDER", "random")
    with pytest.raises(ValidationError, match="order"):
        Settings()


def test_interval_groups_override_the_interval_per_group(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().group_interval(4) == 300
    monkeypatch.setenv("DATA_API_INTERVAL_GROUPS", "4=1, 6=0.5,")
    s = Settings()
    assert s.interval_groups == {4: 1.0, 6: 0.5}
    assert [s.group_interval(g) for g in (1, 4, 6)] == [300, 1.0, 0.5]


@pytest.mark.parametrize("value", ["4", "4=0", "4=-1", "x=1", "4=soon", "4:1"])
def test_bad_interval_groups_name_the_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DATA_API_INTERVAL_GROUPS", value)
    with pytest.raises(ValidationError, match="interval_groups"):
        Settings()
