"""Inference through the load balancer with 1 and with 3 replicas, in one run, loaded with wrk.

    # the scale-out profile, up (docs/scaling.md):
    docker compose -f docker-compose.yaml -f docker-compose.scale.yaml up -d --wait --scale inference=3
    MLFLOW_TRACKING_USERNAME=admin MLFLOW_TRACKING_PASSWORD=... \\
        .venv/inference/bin/python bench/inference_replicas.py [--replicas 1 3] [--seconds 15]

For each replica count it scales the `inference` service of the running profile
(`docker compose up --scale inference=N --no-deps --wait`), waits until Docker's DNS
gives the load balancer exactly N replicas, then measures through `lb` (port 8989) at
concurrency 16: `GET /health` (no model), one penguin and one Covertype row, and a
100-row Covertype batch. Prints requests per second, p50/p99 latency and each
count's throughput as a ratio of the first count's, and leaves the profile with
the last count. The project and files are Compose's own: COMPOSE_PROJECT_NAME and
COMPOSE_FILE, or the defaults below. Every client, replica, nginx and MySQL (the
prediction log) share this machine's cores: the ratio says what replicas buy on it.
Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# Run as a script, bench/ is on the import path.
from inference_vs_mlflow_serve import example_rows, post, production_version, wrk
from scale_profile import compose


def resolved_replicas() -> int:
    """Addresses Docker's DNS gives the load balancer for `inference` right now (lb/run.sh asks the same)."""
    answer = compose("exec", "-T", "lb", "getent", "ahostsv4", "inference")
    return len({line.split()[0] for line in answer.splitlines() if line.strip()})


def scale(replicas: int) -> None:
    # --wait: every replica healthy, so each has loaded its models.
    compose("up", "-d", "--wait", "--no-deps", "--no-recreate", "--scale", f"inference={replicas}", "inference")
    deadline = time.monotonic() + 120
    while resolved_replicas() != replicas:
        if time.monotonic() > deadline:
            sys.exit(f"the load balancer's DNS does not give {replicas} replicas: {resolved_replicas()}")
        time.sleep(1)
    time.sleep(5)  # lb looks at DNS and /health every LB_RESOLVE_SECONDS (2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('INFERENCE_PORT', 8989)}", help="the load balancer")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "http://localhost:5000"))
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    def rows(name: str) -> list[dict]:
        return example_rows(args.tracking_uri, f"models:/{name}/{production_version(args.tracking_uri, name)}")

    penguin, cover = rows("penguins-classifier")[0], rows("covertype-classifier")
    cases = [
        ("GET /health", "/health", None),
        ("POST /predict/penguins (1 row)", "/predict/penguins", penguin),
        ("POST /predict/covertype (1 row)", "/predict/covertype", cover[0]),
        ("POST /predict/covertype (100 rows)", "/predict/covertype", {"rows": [cover[i % len(cover)] for i in range(100)]}),
    ]
    cores = os.cpu_count()
    print(f"{cores} cores, wrk c={args.connections} {args.seconds}s per case, through lb ({args.url}); replicas {args.replicas}\n")
    results: dict[tuple[int, str], dict[str, float]] = {}
    for count in args.replicas:
        scale(count)
        for label, path, body in cases:
            if body is not None:
                post(f"{args.url}{path}", body)  # fail early on a body the route refuses
            r = results[(count, label)] = wrk(f"{args.url}{path}", body, args.connections, args.seconds)
            print(f"{count} replica(s) | {label:>36} | {r['rps']:8.1f} req/s | p50 {r['p50']:7.2f} ms | p99 {r['p99']:7.2f} ms", flush=True)
        print()
    first = args.replicas[0]
    print(f"throughput as a ratio of {first} replica(s):")
    for label, _, _ in cases:
        ratios = ", ".join(f"{n}: {results[(n, label)]['rps'] / results[(first, label)]['rps']:.2f}" for n in args.replicas)
        print(f"  {label:>36}  {ratios}")


if __name__ == "__main__":
    main()
