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
import time

# The e2e tier's load generator and example rows (tests/e2e/load.py, installed in .venv/e2e as
# the `e2e` package by scripts/test.sh): one definition of a steady load.
from e2e.load import CALLS, SteadyLoad


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

    rates: list[float] = []
    memory: list[float] = [memory_mib(args.container)]
    print(f"{args.clients} clients for {args.minutes} min against {args.url}; memory at start {memory[0]:.0f} MiB", flush=True)
    # No pause between calls: the soak keeps the worker busy.
    with SteadyLoad(args.url, CALLS, clients=args.clients, pause=0, timeout=30) as load:
        start, last = time.monotonic(), (0, 0)
        while time.monotonic() - start < args.minutes * 60:
            time.sleep(args.every)
            now = (load.report.answered, len(load.report.failures))
            rates.append((now[0] - last[0]) / args.every)
            memory.append(memory_mib(args.container))
            print(
                f"{time.monotonic() - start:6.0f} s | {rates[-1]:7.1f} predictions/s | errors {now[1] - last[1]:4d} | memory {memory[-1]:6.0f} MiB",
                flush=True,
            )
            last = now
    report = load.report
    print(
        f"\ntotal {report.answered} predictions, {len(report.failures)} errors in {report.seconds:.0f} s; "
        f"last interval's rate {rates[-1] / rates[0]:.2f}x the first's; memory {memory[0]:.0f} -> {memory[-1]:.0f} MiB "
        f"(max {max(memory):.0f}, {memory[-1] / memory[0]:.2f}x)"
    )
    for at, failure in report.failures[:5]:
        print(f"  {at:6.1f} s  {failure}")


if __name__ == "__main__":
    main()
