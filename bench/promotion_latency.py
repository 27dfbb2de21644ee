"""From an alias move in the MLflow registry (REST) until inference answers predictions with the new version.

    MLFLOW_TRACKING_USERNAME=admin MLFLOW_TRACKING_PASSWORD=... [INFERENCE_API_KEY=...] \\
        .venv/inference/bin/python bench/promotion_latency.py [--inference http://127.0.0.1:8989] \\
        [--mlflow http://127.0.0.1:5000] [--model penguins-classifier] [--moves 20] [--rps 20]

Moves `production` back and forth between the model's two newest versions `--moves`
times, the way a person's promotion does it (MLflow's REST API with the admin login;
the UI's "Save aliases" makes the same call). After each move it times how long until
a prediction is answered by the new version: a steady load of single-row predictions
(`--rps`, one thread, keep-alive) runs throughout, and each answer names the version
that made it. Prints every move's delay, p50 and max, and the requests of the load
that failed (anything but 200). Leaves production where it found it.

Inference keeps the version it stops serving loaded (INFERENCE_CACHE_SIZE), so only the
first move to each version downloads it from the registry; the later ones, like a
rollback, only ask the registry where the alias is. Both kinds are reported apart.

Inference learns of a move by MLflow's webhook (mlflow/start_server.py registers it),
or by its poll every INFERENCE_REFRESH_SECONDS when no hook arrives: run it with
INFERENCE_WEBHOOK_URL empty in MLflow to measure the poll alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field


@dataclass
class Load:
    """Predictions at a steady pace; the last answer's version and when it came, and the failures."""

    url: str
    row: dict
    rps: float
    headers: dict[str, str]
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    seen: list[tuple[float, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        interval = 1.0 / self.rps
        next_at = time.monotonic()
        body = json.dumps({"rows": [self.row]}).encode()
        while not self.stop.is_set():
            request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json", **self.headers})
            self.sent += 1
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    version = str(json.loads(answer.read())["version"])
                self.seen.append((time.monotonic(), version))
            except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
                self.failed.append(repr(exc))
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inference", default="http://127.0.0.1:8989")
    parser.add_argument("--mlflow", default="http://127.0.0.1:5000")
    parser.add_argument("--model", default="penguins-classifier")
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--rps", type=float, default=20.0, help="steady prediction load, requests per second")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between a version served and the next move")
    parser.add_argument("--timeout", type=float, default=30.0, help="a move not served within this long fails the run")
    args = parser.parse_args()

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=args.mlflow, registry_uri=args.mlflow)
    versions = sorted((int(v.version) for v in client.search_model_versions(f"name = '{args.model}'")), reverse=True)
    if len(versions) < 2:
        raise SystemExit(f"{args.model} needs two registered versions to move between")
    start = str(client.get_model_version_by_alias(args.model, "production").version)
    pair = [str(versions[0]), str(versions[1])]
    headers = {"Authorization": f"Bearer {os.environ['INFERENCE_API_KEY']}"} if os.environ.get("INFERENCE_API_KEY") else {}
    detail = urllib.request.Request(f"{args.inference}/models/{args.model}", headers=headers)
    with urllib.request.urlopen(detail, timeout=30) as answer:
        row = json.loads(answer.read())["input_example"][0]

    load = Load(f"{args.inference}/models/{args.model}/predict", row, args.rps, headers)
    thread = threading.Thread(target=load.run, daemon=True)
    thread.start()
    delays: list[float] = []
    first: list[bool] = []
    current, served_before = start, {start}
    try:
        for i in range(args.moves):
            target = pair[0] if current != pair[0] else pair[1]
            before = len(load.seen)
            client.set_registered_model_alias(args.model, "production", target)
            moved = time.monotonic()
            while True:
                served = [t for t, v in load.seen[before:] if v == target and t >= moved]
                if served:
                    delays.append(served[0] - moved)
                    break
                if time.monotonic() - moved > args.timeout:
                    raise SystemExit(f"move {i + 1}: version {target} not served within {args.timeout:.0f} s")
                time.sleep(0.005)
            first.append(target not in served_before)
            served_before.add(target)
            kind = "first time this run" if first[-1] else "served before this run"
            print(f"move {i + 1:2d}: production -> {target}: served after {delays[-1] * 1000:7.0f} ms ({kind})", flush=True)
            current = target
            time.sleep(args.pause)
    finally:
        load.stop.set()
        thread.join()
        client.set_registered_model_alias(args.model, "production", start)
    print(f"\na prediction every {1000 / args.rps:.0f} ms: delays are known to within that")
    for label, group in (("all", delays), ("served before this run", [d for d, f in zip(delays, first, strict=True) if not f])):
        if group:
            print(f"{label}: {len(group)} moves, p50 {statistics.median(group) * 1000:.0f} ms, max {max(group) * 1000:.0f} ms")
    print(f"load: {load.sent} predictions, {len(load.failed)} failed" + (f" (first: {load.failed[0]})" if load.failed else ""))


if __name__ == "__main__":
    main()
