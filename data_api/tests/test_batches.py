from pathlib import Path

import numpy as np
import pytest

from data_api.batches import Advance, BatchedData, BatchScheduler, DataExhausted, split_into_batches
from data_api.state import GroupState, StateStore

from .conftest import FakeClock, make_frame


def test_split_is_a_seeded_partition() -> None:
    batches = split_into_batches(103, 10, seed=42)
    assert len(batches) == 10
    assert sorted(len(b) for b in batches) == [10] * 7 + [11] * 3
    assert sorted(np.concatenate(batches).tolist()) == list(range(103))
    again = split_into_batches(103, 10, seed=42)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    other = split_into_batches(103, 10, seed=43)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other))
    # Shuffled, not cut in file order.
    assert not np.array_equal(batches[0], np.arange(len(batches[0])))


def test_split_rejects_too_few_rows() -> None:
    with pytest.raises(ValueError, match="3 rows"):
        split_into_batches(3, 5, seed=1)


def test_sample_fraction_types_and_membership() -> None:
    df = make_frame(200)
    data = BatchedData(df, n_batches=5, seed=7)
    batch_ids = set(df["Elevation"].to_numpy()[data.batches[1]].tolist())
    rows = data.sample(2, 0.25, np.random.default_rng(0))
    assert len(rows) == 10  # 25 % of 40
    assert all(len(r) == 13 for r in rows)
    assert len({r[0] for r in rows}) == 10  # without replacement
    assert {r[0] for r in rows} <= batch_ids
    for r in rows:
        assert all(type(v) is int for v in r[:10] + [r[12]])
        assert type(r[10]) is str and type(r[11]) is str
        # The sampled row is exactly the source row.
        src = df[df["Elevation"] == r[0]].iloc[0].tolist()
        assert r == src


def test_sample_size_bounds() -> None:
    data = BatchedData(make_frame(20), n_batches=2, seed=1)
    assert data.sample_size(1, 0.01) == 1  # never empty
    assert data.sample_size(1, 1.0) == 10
    assert len(data.sample(1, 1.0)) == 10


def test_fresh_samples_differ() -> None:
    data = BatchedData(make_frame(1000), n_batches=2, seed=1)
    a, b = data.sample(1, 0.1), data.sample(1, 0.1)
    assert len(a) == len(b) == 50
    assert {r[0] for r in a} != {r[0] for r in b}


def make_scheduler(tmp_path: Path, clock: FakeClock, n_batches: int = 4, advance: Advance = "clock") -> BatchScheduler:
    return BatchScheduler(n_batches, 100.0, StateStore(tmp_path), clock=clock, advance=advance)


def test_rotation_with_fake_clock(tmp_path: Path) -> None:
    clock = FakeClock(1000.0)
    sched = make_scheduler(tmp_path, clock)
    assert sched.current_batch(1) == 1
    clock.advance(99.9)
    assert sched.current_batch(1) == 1
    clock.advance(0.1)
    assert sched.current_batch(1) == 2
    clock.advance(100)
    assert sched.current_batch(1) == 3


def test_skipping_several_intervals_keeps_the_grid(tmp_path: Path) -> None:
    clock = FakeClock(1000.0)
    sched = make_scheduler(tmp_path, clock, n_batches=10)
    sched.current_batch(1)
    clock.advance(350)  # 3.5 intervals
    assert sched.current_batch(1) == 4
    assert sched.status(1).batch_started_at == 1300.0
    clock.advance(50)  # 400 s after start: batch 5, not 50 s into batch 4
    assert sched.current_batch(1) == 5


def test_exhausted_after_last_interval(tmp_path: Path) -> None:
    clock = FakeClock(0.0)
    sched = make_scheduler(tmp_path, clock, n_batches=3)
    sched.current_batch(1)
    clock.advance(299)
    assert sched.current_batch(1) == 3
    clock.advance(1)
    with pytest.raises(DataExhausted):
        sched.current_batch(1)
    assert sched.status(1).exhausted


def test_clock_going_backwards_does_not_rewind(tmp_path: Path) -> None:
    clock = FakeClock(1000.0)
    sched = make_scheduler(tmp_path, clock)
    sched.current_batch(1)
    clock.advance(150)
    assert sched.current_batch(1) == 2
    clock.now = 500.0
    assert sched.current_batch(1) == 2


def test_groups_have_independent_clocks(tmp_path: Path) -> None:
    clock = FakeClock(0.0)
    sched = make_scheduler(tmp_path, clock)
    sched.current_batch(1)
    clock.advance(150)
    assert sched.current_batch(2) == 1
    assert sched.current_batch(1) == 2
    clock.advance(60)
    assert (sched.current_batch(1), sched.current_batch(2)) == (3, 1)


def test_status_is_read_only_and_restart_resets(tmp_path: Path) -> None:
    clock = FakeClock(0.0)
    sched = make_scheduler(tmp_path, clock)
    assert not sched.status(1).started
    assert StateStore(tmp_path).load() == {}
    sched.current_batch(1)
    clock.advance(250)
    st = sched.status(1)
    assert (st.batch_number, st.batch_started_at, st.next_batch_at) == (3, 200.0, 300.0)
    assert StateStore(tmp_path).load() == {1: GroupState(1, 0.0)}  # status wrote nothing
    sched.restart(1)
    assert StateStore(tmp_path).load() == {}
    assert sched.current_batch(1) == 1
    assert StateStore(tmp_path).load() == {1: GroupState(1, 250.0)}


def test_state_persists_across_schedulers(tmp_path: Path) -> None:
    clock = FakeClock(0.0)
    make_scheduler(tmp_path, clock).current_batch(3)
    clock.advance(120)
    assert make_scheduler(tmp_path, clock).current_batch(3) == 2


def test_concurrent_requests_keep_state_consistent(tmp_path: Path) -> None:
    import threading

    clock = FakeClock(0.0)
    sched = make_scheduler(tmp_path, clock, n_batches=1000)
    errors: list[BaseException] = []

    def hammer(group: int) -> None:
        try:
            for _ in range(50):
                sched.current_batch(group)
                clock.advance(1)  # racy on purpose; only the state file's integrity is checked
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(g % 4 + 1,)) for g in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    saved = StateStore(tmp_path).load()
    assert set(saved) == {1, 2, 3, 4}
    assert saved == {g: sched._groups[g] for g in saved}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


# per_call: the course API's behaviour, the default.


def test_per_call_a_late_client_gets_the_next_batch_not_a_later_one(tmp_path: Path) -> None:
    clock = FakeClock(1000.0)
    sched = make_scheduler(tmp_path, clock, n_batches=10, advance="per_call")
    assert sched.current_batch(1) == 1
    clock.advance(350)  # 3.5 intervals: the clock mode would jump to batch 4
    assert sched.current_batch(1) == 2
    # The batch started with that call, so it lasts a full interval from then.
    assert sched.status(1).batch_started_at == 1350.0
    clock.advance(99)
    assert sched.current_batch(1) == 2
    clock.advance(1)
    assert sched.current_batch(1) == 3


def test_per_call_delivers_every_batch_once_before_exhaustion(tmp_path: Path) -> None:
    clock = FakeClock(0.0)
    sched = make_scheduler(tmp_path, clock, n_batches=4, advance="per_call")
    served = []
    for gap in (0, 1000, 250, 100):  # paused, late, on time
        clock.advance(gap)
        served.append(sched.current_batch(1))
    assert served == [1, 2, 3, 4]
    assert not sched.status(1).exhausted
    clock.advance(99.9)
    assert sched.current_batch(1) == 4  # the last batch has its full interval
    clock.advance(0.1)
    assert sched.status(1).exhausted
    with pytest.raises(DataExhausted):
        sched.current_batch(1)


def test_per_call_status_does_not_move_the_group(tmp_path: Path) -> None:
    clock = FakeClock(0.0)
    sched = make_scheduler(tmp_path, clock, advance="per_call")
    sched.current_batch(1)
    clock.advance(250)
    st = sched.status(1)
    # Still batch 1 until a request moves it; that request may come any time now.
    assert (st.batch_number, st.batch_started_at, st.next_batch_at) == (1, 0.0, 100.0)
    assert StateStore(tmp_path).load() == {1: GroupState(1, 0.0)}
    clock.now = -50.0  # a clock that went backwards moves nothing
    assert sched.current_batch(1) == 1


def test_elevation_order_serves_batches_in_ascending_elevation() -> None:
    df = make_frame(200)
    data = BatchedData(df, n_batches=5, seed=7)
    elevation = df["Elevation"].to_numpy()
    cut = data.cuts["elevation"]
    assert sorted(np.concatenate(cut).tolist()) == list(range(200))  # every row once
    # Each batch lies wholly above the one before it.
    assert all(elevation[a].max() <= elevation[b].min() for a, b in zip(cut, cut[1:]))
    rows = data.sample(1, 0.25, np.random.default_rng(0), order="elevation")
    assert {r[0] for r in rows} <= set(elevation[cut[0]].tolist())
    # The shuffled cut is unchanged by the new order: batches look like the whole data.
    assert data.cuts["shuffled"] is data.batches
    assert elevation[data.batches[0]].max() > elevation[cut[0]].max()


def test_elevation_ties_are_cut_the_same_on_every_start() -> None:
    df = make_frame(200)
    df["Elevation"] = df["Elevation"] % 7  # many ties
    first, again = BatchedData(df, 5, seed=7).cuts["elevation"], BatchedData(df, 5, seed=7).cuts["elevation"]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
