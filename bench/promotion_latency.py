"""From an alias move in the MLflow registry (REST) until inference answers predictions with the new version.

    MLFLOW_TRACKING_USERNAME=admin MLFLOW_TRACKING_PASSWORD=... [INFERENCE_API_KEY=...] \\
        .venv/inference/bin/python bench/promotion_latency.py [--inference http://127.0.0.1:8989] \\
        [--mlflow http://127.0.0.1:5000] [--model penguins-classifier] [--moves 20] [--rps 20]
    # the same moves clicked in the MLflow UI, in headless Chromium (the e2e venv has Playwright):
    ... .venv/e2e/bin/python bench/promotion_latency.py --via ui ...

Moves `production` back and forth between the model's two newest versions `--moves`
times, the way a person's promotion does it: with `--via rest` (the default) MLflow's
REST API with the admin login, the call the UI's "Save aliases" makes; with `--via ui`
the UI itself, in headless Chromium with the admin login: the version's page, the
pencil beside its aliases, `production`, "Save aliases" (docs/promotion.md), timed from
the click (the page is opened before, untimed). After each move it times how long until
a prediction is answered by the new version: a steady load of single-row predictions
(`--rps`, one thread, keep-alive) runs throughout, and each answer names the version
that made it. Prints every move's delay, p50 and max, and the requests of the load
that failed (anything but 200). Leaves production where it found it.

Given several `--inference` addresses, each gets its own load, and a move counts as
served when every one has answered with the new version: for the scale-out profile,
every replica, addressed directly on Compose's network (reachable from a Linux host),
not through the load balancer, which would show only the replica it happened to pick:

    --inference $(for c in $(docker compose -f docker-compose.yaml -f docker-compose.scale.yaml ps -q inference); do
        echo "http://$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$c"):8989"; done)

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


class UiMover:
    """Moves an alias as a person does in the MLflow UI, in headless Chromium with the admin login."""

    def __init__(self, mlflow: str, model: str) -> None:
        from playwright.sync_api import sync_playwright

        from ui.page import launch_chromium  # the UI's page object: Debian's chromium, headless

        self.mlflow, self.model = mlflow.rstrip("/"), model
        self._playwright = sync_playwright().start()
        self._browser = launch_chromium(self._playwright)
        credentials = {"username": os.environ["MLFLOW_TRACKING_USERNAME"], "password": os.environ["MLFLOW_TRACKING_PASSWORD"]}
        context = self._browser.new_context(http_credentials=credentials, viewport={"width": 1400, "height": 1000})
        self.page = context.new_page()

    def open(self, version: str) -> None:
        """The version's page, ready for the click (untimed)."""
        # A full load: a hash change alone leaves the last version's page up while the
        # new one renders, and the dialog opened on it is torn down under the typing.
        self.page.goto("about:blank")
        self.page.goto(f"{self.mlflow}/#/models/{self.model}/versions/{version}")
        promote = self.page.get_by_role("button", name="Promote model")
        promote.wait_for(timeout=90_000)
        # The pencil beside the version's aliases opens "Add/Edit alias".
        promote.locator("xpath=following::button[1]").click()
        dialog = self.page.get_by_role("dialog")
        dialog.get_by_role("combobox").fill("production")
        dialog.get_by_role("combobox").press("Enter")

    def save(self) -> None:
        dialog = self.page.get_by_role("dialog")
        dialog.get_by_role("button", name="Save aliases").click()

    def saved(self) -> None:
        self.page.get_by_role("dialog").wait_for(state="hidden", timeout=30_000)

    def close(self) -> None:
        self._browser.close()
        self._playwright.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--inference",
        nargs="+",
        default=["http://127.0.0.1:8989"],
        help="one or more inference addresses, e.g. every replica of the scale-out profile: a move is served when all answer with it",
    )
    parser.add_argument("--mlflow", default="http://127.0.0.1:5000")
    parser.add_argument("--model", default="penguins-classifier")
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--rps", type=float, default=20.0, help="steady prediction load, requests per second")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between a version served and the next move")
    parser.add_argument("--timeout", type=float, default=30.0, help="a move not served within this long fails the run")
    parser.add_argument("--via", choices=("rest", "ui"), default="rest", help="move the alias with MLflow's REST API or its UI")
    args = parser.parse_args()

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=args.mlflow, registry_uri=args.mlflow)
    versions = sorted((int(v.version) for v in client.search_model_versions(f"name = '{args.model}'")), reverse=True)
    if len(versions) < 2:
        raise SystemExit(f"{args.model} needs two registered versions to move between")
    start = str(client.get_model_version_by_alias(args.model, "production").version)
    pair = [str(versions[0]), str(versions[1])]
    headers = {"Authorization": f"Bearer {os.environ['INFERENCE_API_KEY']}"} if os.environ.get("INFERENCE_API_KEY") else {}
    detail = urllib.request.Request(f"{args.inference[0]}/models/{args.model}", headers=headers)
    with urllib.request.urlopen(detail, timeout=30) as answer:
        row = json.loads(answer.read())["input_example"][0]

    ui = UiMover(args.mlflow, args.model) if args.via == "ui" else None
    loads = [Load(f"{base}/models/{args.model}/predict", row, args.rps, headers) for base in args.inference]
    threads = [threading.Thread(target=load.run, daemon=True) for load in loads]
    for thread in threads:
        thread.start()
    # Per move: the delay until the last of the addresses answered with the new version.
    delays: list[float] = []
    first: list[bool] = []
    current, served_before = start, {start}
    try:
        for i in range(args.moves):
            target = pair[0] if current != pair[0] else pair[1]
            if ui is not None:
                ui.open(target)
            before = [len(load.seen) for load in loads]
            if ui is not None:
                ui.save()
            else:
                client.set_registered_model_alias(args.model, "production", target)
            moved = time.monotonic()
            while True:
                served = [
                    next((t for t, v in load.seen[n:] if v == target and t >= moved), None) for load, n in zip(loads, before, strict=True)
                ]
                if all(t is not None for t in served):
                    each = [t - moved for t in served if t is not None]
                    delays.append(max(each))
                    break
                if time.monotonic() - moved > args.timeout:
                    raise SystemExit(f"move {i + 1}: version {target} not served within {args.timeout:.0f} s")
                time.sleep(0.005)
            if ui is not None:
                ui.saved()
            first.append(target not in served_before)
            served_before.add(target)
            kind = "first time this run" if first[-1] else "served before this run"
            apart = f" (each: {', '.join(f'{d * 1000:.0f}' for d in each)} ms)" if len(loads) > 1 else ""
            print(f"move {i + 1:2d}: production -> {target}: served after {delays[-1] * 1000:7.0f} ms{apart} ({kind})", flush=True)
            current = target
            time.sleep(args.pause)
    finally:
        for load, thread in zip(loads, threads, strict=True):
            load.stop.set()
            thread.join()
        if ui is not None:
            ui.close()
        client.set_registered_model_alias(args.model, "production", start)
    print(f"\nmoved with MLflow's {'UI, timed from the click on Save aliases' if ui else 'REST API'}")
    print(f"a prediction every {1000 / args.rps:.0f} ms to each of {len(loads)} address(es): delays are known to within that")
    for label, group in (("all", delays), ("served before this run", [d for d, f in zip(delays, first, strict=True) if not f])):
        if group:
            print(f"{label}: {len(group)} moves, p50 {statistics.median(group) * 1000:.0f} ms, max {max(group) * 1000:.0f} ms")
    failed = [f for load in loads for f in load.failed]
    sent = sum(load.sent for load in loads)
    print(f"load: {sent} predictions, {len(failed)} failed" + (f" (first: {failed[0]})" if failed else ""))


if __name__ == "__main__":
    main()
