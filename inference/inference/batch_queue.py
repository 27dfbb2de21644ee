"""A bounded queue of rows between the request path and a worker thread that takes them in batches.

Callers append in O(1) and never wait; what does not fit is dropped and counted in a
`dropped{reason="queue_full"}` counter, and the queue filling up and taking rows again is
logged once each, never per row. The worker wakes every `wait_seconds`, or as soon as
`batch_rows` rows wait, and does `work` on what is queued. The prediction log and the shadow
log (inference.prediction_log) and shadow scoring (inference.shadow) are its kinds.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from prometheus_client import Counter

log = logging.getLogger(__name__)


class BatchQueue:
    # In log messages and the thread's name.
    what = "queue"
    # Why a full queue may be full, for its log message.
    full_hint = "the worker is behind"

    def __init__(self, max_rows: int, batch_rows: int, wait_seconds: float, dropped: Counter, dropped_name: str):
        self.max_rows = max_rows
        self.batch_rows = batch_rows
        self.wait_seconds = wait_seconds
        # dropped{reason} and its name as PromQL sees it.
        self.dropped, self._dropped_name = dropped, dropped_name
        # (rows, entry): the worker takes batches by rows.
        self._queue: deque[tuple[int, Any]] = deque()
        self._rows = 0  # rows in the queue, under _lock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        # Under _lock: rows dropped as queue_full so far, and whether the queue is refusing rows now.
        self._dropped_full = 0
        self._queue_full = False

    # --- the callers' side ------------------------------------------------------
    def put(self, entry: Any, n: int) -> None:
        """Queue an entry of `n` rows; never blocks: dropped and counted when it does not fit."""
        with self._lock:
            if self._rows + n > self.max_rows:
                self._drop_full(n)
                return
            self._queue.append((n, entry))
            self._rows += n
            if self._queue_full:
                self._queue_full = False
                log.warning("%s: the queue takes rows again (%d dropped so far as queue_full)", self.what, self._dropped_full)
            wake = self._rows >= self.batch_rows
        if wake and not self._wake.is_set():
            self._wake.set()

    def _drop_full(self, n: int) -> None:
        # Under _lock.
        self._dropped_full += n
        self.dropped.labels("queue_full").inc(n)
        if not self._queue_full:
            self._queue_full = True
            log.warning(
                "%s: the queue is full (%d rows; %s): predictions are answered, "
                'those that do not fit are dropped and counted in %s{reason="queue_full"}',
                self.what,
                self.max_rows,
                self.full_hint,
                self._dropped_name,
            )

    @property
    def queued_rows(self) -> int:
        return self._rows

    # --- the worker ---------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.what.replace(" ", "-"), daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Work off what is queued and stop; blocking."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def work(self) -> None:
        """Handle everything queued now (the worker thread's)."""
        raise NotImplementedError

    def _run(self) -> None:
        while True:
            self._wake.wait(self.wait_seconds)
            self._wake.clear()
            stopping = self._stopping
            try:
                self.work()
            except Exception:  # never let the worker die: the next round tries again
                log.exception("%s: unexpected error", self.what)
            if stopping:
                return

    def _take(self) -> tuple[list[Any], int]:
        """Entries of up to batch_rows rows, and their rows."""
        batch: list[Any] = []
        taken = 0
        with self._lock:
            while self._queue and taken < self.batch_rows:
                n, entry = self._queue.popleft()
                batch.append(entry)
                taken += n
            self._rows -= taken
        return batch, taken

    def _take_all(self) -> list[tuple[int, Any]]:
        with self._lock:
            taken = list(self._queue)
            self._queue.clear()
            self._rows = 0
        return taken
