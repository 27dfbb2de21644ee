"""A bounded soak of the running inference service: steady clients for some minutes, and
whether throughput, errors and the container's memory stay flat.

    .venv/e2e/bin/python bench/soak.py --url http://localhost:8989 --container mlops-platform-inference-1 --minutes 5 --clients 8

`--clients` threads post one-row predictions (penguins, Covertype, and the original
clients' `{"features": [...]}`) without pause for `--minutes`; every `--every` seconds it
prints the interval's predictions per second and errors, and the container's memory from
`docker stats`. At the end: totals, the last interval's rate as a ratio of the first's, and
the memory growth from the first sample to the last. Traffic goes only to `--url`.
"""

from __future__ import annotations

import argparse
import subprocess
import threading
import time

import requests

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
CALLS = [("/predict/penguins", PENGUIN), ("/predict/covertype", COVER), ("/predict", {"features": list(COVER.values())})]


def memory_mib(container: str) -> float:
    out = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", container], capture_output=True, text=True, check=True
    )
    used = out.stdout.split("/")[0].strip()
    for unit, factor in (("GiB", 1024), ("MiB", 1), ("KiB", 1 / 1024)):
        if used.endswith(unit):
            return float(used.removesuffix(unit)) * factor
    raise ValueError(f"unexpected docker stats output {out.stdout!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8989")
    parser.add_argument("--container", required=True, help="the inference container's name (docker ps)")
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--every", type=float, default=30, help="seconds per printed interval")
    args = parser.parse_args()

    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def client(offset: int) -> None:
        session = requests.Session()
        i = offset
        while not stop.is_set():
            path, body = CALLS[i % len(CALLS)]
            i += 1
            try:
                ok = session.post(f"{args.url}{path}", json=body, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            with lock:
                counts["ok" if ok else "errors"] += 1

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(args.clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    rates: list[float] = []
    memory: list[float] = [memory_mib(args.container)]
    last = dict(counts)
    print(f"{args.clients} clients for {args.minutes} min against {args.url}; memory at start {memory[0]:.0f} MiB", flush=True)
    try:
        while time.monotonic() - start < args.minutes * 60:
            time.sleep(args.every)
            with lock:
                now = dict(counts)
            rates.append((now["ok"] - last["ok"]) / args.every)
            memory.append(memory_mib(args.container))
            print(
                f"{time.monotonic() - start:6.0f} s | {rates[-1]:7.1f} predictions/s | errors {now['errors'] - last['errors']:4d}"
                f" | memory {memory[-1]:6.0f} MiB",
                flush=True,
            )
            last = now
    finally:
        stop.set()
        for thread in threads:
            thread.join(35)
    print(
        f"\ntotal {counts['ok']} predictions, {counts['errors']} errors in {time.monotonic() - start:.0f} s; "
        f"last interval's rate {rates[-1] / rates[0]:.2f}x the first's; memory {memory[0]:.0f} -> {memory[-1]:.0f} MiB "
        f"(max {max(memory):.0f}, {memory[-1] / memory[0]:.2f}x)"
    )


if __name__ == "__main__":
    main()
