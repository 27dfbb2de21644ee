"""A steady prediction load in background threads, for the chaos tier: every answer
is counted and every failure kept (time, what failed), so a fault that costs a
single request shows."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

import requests

# One valid row of each dataset, as a client sends it.
PENGUIN = {
    "island": "Biscoe",
    "bill_length_mm": 47.5,
    "bill_depth_mm": 15.0,
    "flipper_length_mm": 218,
    "body_mass_g": 4950,
    "sex": "female",
}
COVER = {
    "Elevation": 2596,
    "Aspect": 51,
    "Slope": 3,
    "Horizontal_Distance_To_Hydrology": 258,
    "Vertical_Distance_To_Hydrology": 0,
    "Horizontal_Distance_To_Roadways": 510,
    "Hillshade_9am": 221,
    "Hillshade_Noon": 232,
    "Hillshade_3pm": 148,
    "Horizontal_Distance_To_Fire_Points": 6279,
    "Wilderness_Area": "Rawah",
    "Soil_Type": "C7745",
}
# The calls of a steady load: each dataset's route and the original clients' feature list.
CALLS = [("/predict/penguins", PENGUIN), ("/predict/covertype", COVER), ("/predict", {"features": list(COVER.values())})]


@dataclass
class LoadReport:
    answered: int = 0
    failures: list[tuple[float, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


class SteadyLoad:
    """`clients` threads posting `requests_` (path, body) in turn to `base` until stopped.

    Each client pauses `pause` seconds between calls: a steady load an operator
    would see, not a benchmark that starves the faults it is meant to ride out.
    """

    def __init__(self, base: str, requests_: list[tuple[str, dict]], clients: int = 4, pause: float = 0.02, timeout: float = 10):
        self.base = base
        self.requests = requests_
        self.clients = clients
        self.pause = pause
        self.timeout = timeout
        self.report = LoadReport()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def _client(self, offset: int) -> None:
        session = requests.Session()
        calls = itertools.islice(itertools.cycle(self.requests), offset, None)
        for path, body in calls:
            if self._stop.is_set():
                return
            try:
                response = session.post(f"{self.base}{path}", json=body, timeout=self.timeout)
                failure = None if response.status_code == 200 else f"{path} -> {response.status_code} {response.text[:200]}"
            except requests.RequestException as exc:
                failure = f"{path} -> {type(exc).__name__}: {exc}"
            with self._lock:
                if failure is None:
                    self.report.answered += 1
                else:
                    self.report.failures.append((time.monotonic() - self._started, failure))
            time.sleep(self.pause)

    def __enter__(self) -> SteadyLoad:
        self._started = time.monotonic()
        for offset in range(self.clients):
            thread = threading.Thread(target=self._client, args=(offset,), daemon=True, name=f"load-{offset}")
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        self.report.seconds = time.monotonic() - self._started
