"""Cutting the data into batches, sampling them, and moving each group through them."""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .state import GroupState, StateStore

Clock = Callable[[], float]

# How a group moves on to its next batch:
# - per_call (the course API's behaviour, the default): one batch per call, on the
#   first call once the interval has passed since the group last moved. A client
#   that pauses still receives every batch, later.
# - clock: on a fixed clock from the group's first call; batches nobody fetched
#   within their interval are skipped.
Advance = Literal["per_call", "clock"]

# Which rows a batch holds:
# - shuffled (the default): the rows shuffled once with the seed, cut into batches;
#   every batch looks like the whole data.
# - elevation: the rows in ascending Elevation order (ties in the shuffled order),
#   cut into batches: each batch is higher up the mountain than the last, a
#   realistic drift for a model trained on the early batches or on shuffled data.
Order = Literal["shuffled", "elevation"]
ORDERS: tuple[Order, ...] = ("shuffled", "elevation")


def split_into_batches(n_rows: int, n_batches: int, seed: int) -> list[np.ndarray]:
    """Shuffle row indices once with ``seed`` and cut them into ``n_batches`` near-equal parts.

    Same seed and row count give the same batches on every start, so a restarted
    process keeps serving the batches each group has already seen.
    """
    if n_batches < 1:
        raise ValueError("n_batches must be positive")
    if n_rows < n_batches:
        raise ValueError(f"{n_rows} rows cannot fill {n_batches} non-empty batches")
    order = np.random.default_rng(seed).permutation(n_rows)
    return np.array_split(order, n_batches)


def split_by_column(values: np.ndarray, n_batches: int, seed: int) -> list[np.ndarray]:
    """Row indices in ascending order of ``values``, cut into ``n_batches`` near-equal parts.

    Ties keep the seeded shuffle's order, so equal values are spread over
    neighbouring batches the same way on every start.
    """
    shuffled = np.concatenate(split_into_batches(len(values), n_batches, seed))
    ordered = shuffled[np.argsort(values[shuffled], kind="stable")]
    return np.array_split(ordered, n_batches)


class BatchedData:
    """The data held column-wise in memory, plus the fixed batch cut of each order."""

    def __init__(self, df: pd.DataFrame, n_batches: int, seed: int) -> None:
        self.columns: list[str] = list(df.columns)
        # Column arrays: int64 for numbers, object (str) for categories, so that
        # .tolist() gives plain Python ints and strs ready for JSON.
        self._arrays = [df[c].to_numpy() for c in self.columns]
        self.n_rows = len(df)
        self.batches = split_into_batches(self.n_rows, n_batches, seed)
        self.cuts: dict[str, list[np.ndarray]] = {
            "shuffled": self.batches,
            "elevation": split_by_column(df["Elevation"].to_numpy(), n_batches, seed),
        }

    @property
    def n_batches(self) -> int:
        return len(self.batches)

    def batch_size(self, batch_number: int) -> int:
        return len(self.batches[batch_number - 1])

    def sample_size(self, batch_number: int, fraction: float) -> int:
        return max(1, min(self.batch_size(batch_number), round(fraction * self.batch_size(batch_number))))

    def rows(self, indices: np.ndarray) -> list[list[Any]]:
        cols = [a[indices].tolist() for a in self._arrays]
        return [list(r) for r in zip(*cols)]

    def sample(
        self, batch_number: int, fraction: float, rng: np.random.Generator | None = None, order: Order = "shuffled"
    ) -> list[list[Any]]:
        """A random sample without replacement of ``fraction`` of batch ``batch_number`` (1-based) of ``order``'s cut."""
        rng = rng if rng is not None else np.random.default_rng()  # fresh OS entropy per call
        batch = self.cuts[order][batch_number - 1]
        picked = rng.choice(batch, size=self.sample_size(batch_number, fraction), replace=False)
        return self.rows(picked)


class DataExhausted(Exception):
    """The group has been served every batch for its full interval."""


@dataclass(frozen=True)
class GroupStatus:
    group_number: int
    started: bool
    batch_number: int | None
    batch_started_at: float | None
    next_batch_at: float | None
    exhausted: bool


class BatchScheduler:
    """Moves each group through batches 1..n_batches, each group on its own.

    A group starts at batch 1 on its first request. With ``advance="per_call"``
    a request made at least one interval after the group's batch started moves
    it on by exactly one batch, and that batch starts then. With
    ``advance="clock"`` batch b+k is current once k intervals have passed since
    batch b started; batch start times stay on the group's original grid
    (start + (b-1) * interval), so skipped intervals are counted exactly.
    Either way, a request after batch n_batches has had its interval finds the
    group exhausted.
    """

    def __init__(
        self,
        n_batches: int,
        interval_seconds: float,
        store: StateStore,
        clock: Clock | None = None,
        advance: Advance = "per_call",
        group_intervals: dict[int, float] | None = None,
    ) -> None:
        self.n_batches = n_batches
        self.interval = float(interval_seconds)
        self.group_intervals = {g: float(s) for g, s in (group_intervals or {}).items()}
        self.store = store
        self.clock = clock or time.time
        self.advance = advance
        # Sync endpoints run in a thread pool: serialise the read-modify-write of state.
        self._lock = threading.Lock()
        self._groups = store.load()

    def interval_of(self, group: int) -> float:
        """The group's batch interval: its own if it has one, else the common one."""
        return self.group_intervals.get(group, self.interval)

    def _resolve(self, group: int, state: GroupState, now: float) -> GroupState:
        """The group's state as a request at ``now`` finds it."""
        interval = self.interval_of(group)
        elapsed = now - state.batch_started_at
        if self.advance == "per_call":
            # A clock that moved backwards gives a negative elapsed time: no move.
            return GroupState(state.batch_number + 1, now) if elapsed >= interval else state
        # max(0, ..): a clock that moved backwards must not move a group back.
        steps = max(0, math.floor(elapsed / interval))
        if steps == 0:
            return state
        return GroupState(
            batch_number=state.batch_number + steps,
            batch_started_at=state.batch_started_at + steps * interval,
        )

    def current_batch(self, group: int) -> int:
        """The group's current batch, starting its clock on first use.

        Raises DataExhausted once every batch has been served for its interval.
        """
        with self._lock:
            now = self.clock()
            old = self._groups.get(group)
            new = GroupState(1, now) if old is None else self._resolve(group, old, now)
            if new.batch_number > self.n_batches:
                raise DataExhausted(group)
            if new != old:
                self._groups[group] = new
                self.store.save(self._groups)
            return new.batch_number

    def restart(self, group: int) -> None:
        """Forget the group's progress; its next request starts batch 1 again."""
        with self._lock:
            if self._groups.pop(group, None) is not None:
                self.store.save(self._groups)

    def status(self, group: int) -> GroupStatus:
        """Read-only view: does not start the group's clock or write state."""
        with self._lock:
            old = self._groups.get(group)
            if old is None:
                return GroupStatus(group, False, None, None, None, False)
            upcoming = self._resolve(group, old, self.clock())
            exhausted = upcoming.batch_number > self.n_batches
            # per_call moves only when a request comes: until then the group is
            # still on its stored batch, which the next request may move past.
            new = upcoming if self.advance == "clock" else old
            return GroupStatus(
                group_number=group,
                started=True,
                batch_number=None if exhausted else new.batch_number,
                batch_started_at=None if exhausted else new.batch_started_at,
                next_batch_at=None if exhausted else new.batch_started_at + self.interval_of(group),
                exhausted=exhausted,
            )
