"""`/health` latency while clients send inference bodies it must refuse, in one run.

    .venv/e2e/bin/python bench/health_under_oversized.py --url http://localhost:8989 --seconds 20

Three phases of the same length against a running inference service: `/health` polled
alone (the baseline); then while `--clients` threads send 15 MB bodies of unknown keys
(refused with 413 from Content-Length, before any parsing); then while they send
bodies just under INFERENCE_MAX_BODY_BYTES that are parsed and fail validation on
every row (the most costly 422: the error list is capped at 20 problems). Prints the
`/health` p50/p99/max of each phase, the refusals' status codes and times, and each
phase's p99 as a ratio of the baseline's. The target is `/health` under 100 ms
throughout. Sends traffic only to the given URL, bounded by `--seconds`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections import Counter

import requests


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def oversized_body(megabytes: int) -> bytes:
    # Unknown keys: before the limit, this is what made inference build a 130 MB error body.
    row = {f"unknown_{i}": i for i in range(50)}
    one = json.dumps(row).encode()
    count = megabytes * 1_000_000 // (len(one) + 1)
    return b'{"rows": [' + b",".join([one] * count) + b"]}"


def just_under_limit(limit: int) -> bytes:
    # Valid JSON, every row wrong in every field: validation's worst case under the limit.
    row = json.dumps({"island": 1, "bill_length_mm": "x", "bill_depth_mm": "x", "flipper_length_mm": "x", "body_mass_g": "x", "sex": 2})
    count = (limit - 20) // (len(row) + 1)
    return ('{"rows": [' + ",".join([row] * count) + "]}").encode()


def poll_health(url: str, seconds: float) -> list[float]:
    session = requests.Session()
    times: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        session.get(f"{url}/health", timeout=30).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
        time.sleep(0.05)
    return times


def abuse(url: str, body: bytes, clients: int, stop: threading.Event, outcomes: Counter, durations: list[float]) -> list[threading.Thread]:
    def client() -> None:
        session = requests.Session()
        while not stop.is_set():
            started = time.perf_counter()
            try:
                response = session.post(f"{url}/predict/penguins", data=body, headers={"Content-Type": "application/json"}, timeout=60)
                outcomes[f"{response.status_code} ({len(response.content)} bytes)"] += 1
            except requests.RequestException as exc:
                # The server may close the connection after a 413 while the body is still being sent.
                outcomes[type(exc).__name__] += 1
            durations.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8989")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--limit", type=int, default=2_000_000, help="the service's INFERENCE_MAX_BODY_BYTES")
    args = parser.parse_args()

    phases = {
        "baseline (no other traffic)": None,
        "15 MB bodies (413)": oversized_body(15),
        "bodies just under the limit (422)": just_under_limit(args.limit),
    }
    # Validation is reached only when the route serves a model; otherwise say so and skip that phase.
    probe = requests.post(f"{args.url}/predict/penguins", json={"rows": [{"island": 1}]}, timeout=30)
    if probe.status_code != 422:
        print(f"skipping the 422 phase: /predict/penguins answers {probe.status_code}, not 422 (no penguins model served?)")
        phases.pop("bodies just under the limit (422)")
    results = {}
    for label, body in phases.items():
        outcomes: Counter = Counter()
        durations: list[float] = []
        stop = threading.Event()
        threads = abuse(args.url, body, args.clients, stop, outcomes, durations) if body else []
        try:
            health = poll_health(args.url, args.seconds)
        finally:
            stop.set()
            for thread in threads:
                thread.join(70)
        results[label] = health
        refused = f"; refused: {dict(outcomes)}, median {statistics.median(durations):.0f} ms each" if body else ""
        print(
            f"{label:>36} | /health n={len(health):4d} p50 {percentile(health, 0.5):6.1f} ms | p99 {percentile(health, 0.99):6.1f} ms"
            f" | max {max(health):6.1f} ms{refused}",
            flush=True,
        )
    base = percentile(next(iter(results.values())), 0.99)
    for label, health in list(results.items())[1:]:
        print(f"{label}: /health p99 = {percentile(health, 0.99) / base:.2f}x the baseline's; max {max(health):.1f} ms (goal < 100 ms)")


if __name__ == "__main__":
    main()
