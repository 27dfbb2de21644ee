"""Production's one-row throughput with the challenger scored in shadow against without, in one run, loaded with wrk.

    .venv/inference/bin/python bench/shadow.py --setup --tracking-uri http://localhost:5000 \\
        --mysql-url mysql+pymysql://root:<MYSQL_ROOT_PASSWORD>@127.0.0.1:3306/

`--setup` registers a fresh penguins and Covertype model pair with the inference
service tests' `log_version` (inference/tests/conftest.py: a logistic regression as
version 1, alias production, a random forest as version 2, alias challenger; no data
files); without it, --penguins-model and --covertype-model name registered models
that have both aliases. Starts two inference processes (one uvicorn worker each, as in
the compose file), both with the prediction log on, writing to a scratch database on
the given MySQL server (predictions and shadow_predictions, made from
contract/monitoring-tables.json, written by a user that may only insert, dropped at
the end): one with INFERENCE_SHADOW=off, one with it on. For `--rounds` rounds each
case is loaded for `--seconds` on one process and then the other (which goes first
alternates by round); after each measurement the bench waits for that process's
queues (shadow scoring, shadow log, prediction log) to empty, so one's work does not
land in the other's time. Prints req/s, p50/p99 and CPU per request per case and mode,
the on/off ratio, and the rows scored in shadow, not scored (by reason) and written.
`--max-rows-per-second 0` scores every row (the shipped limit leaves most of a busy
route's rows unscored, and is what bounds the cost).
Needs wrk and the inference venv (`.venv/inference`, its dev requirements included).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

# Run as a script, bench/ is on the import path.
from inference_vs_mlflow_serve import example_rows, post, production_version
from prediction_log import (
    PREDICTION_LOG,
    add_load_arguments,
    drop_scratch_database,
    measure_alternating,
    parsed,
    scratch_database,
    start_modes,
)

ROOT = Path(__file__).resolve().parents[1]
QUEUES = ("inference_shadow_queue_rows", "shadow_log_queue_rows", "prediction_log_queue_rows")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_arguments(parser)
    parser.add_argument("--setup", action="store_true", help="register a fresh model pair (production v1, challenger v2) per dataset")
    parser.add_argument(
        "--max-rows-per-second",
        type=float,
        help="INFERENCE_SHADOW_MAX_ROWS_PER_SECOND of the process with shadow on (0: every row scored); default: the setting's own",
    )
    return parsed(parser)


def register_pair(tracking_uri: str) -> dict[str, str]:
    """Penguins and Covertype models, version 1 production and version 2 challenger, by the service tests' `log_version`."""
    sys.path.insert(0, str(ROOT / "inference" / "tests"))
    os.environ["TEST_MLFLOW_URI"] = tracking_uri
    os.environ.setdefault("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    from conftest import log_version
    from specs import COVERTYPE_SPEC, PENGUINS_SPEC

    from mlflow import MlflowClient

    prefix = f"bench{uuid.uuid4().hex[:6]}"
    names = {}
    for dataset, spec in (("penguins", PENGUINS_SPEC), ("covertype", COVERTYPE_SPEC)):
        name = names[dataset] = f"{prefix}-{dataset}-classifier"
        log_version(name, spec, "lr")
        log_version(name, spec, "rf", seed=3)
        client = MlflowClient(tracking_uri=tracking_uri)
        client.set_registered_model_alias(name, "production", "1")
        client.set_registered_model_alias(name, "challenger", "2")
    print(f"registered {names['penguins']} and {names['covertype']}: version 1 production, version 2 challenger")
    return names


def samples(base: str) -> dict[str, float]:
    """Every sample of the process's /metrics, summed over labels but `reason`: name or name{reason} -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        body = response.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            key = sample.name + (f'{{reason="{sample.labels["reason"]}"}}' if "reason" in sample.labels else "")
            out[key] = out.get(key, 0.0) + sample.value
    return out


def drain(base: str, timeout: float = 60) -> None:
    started = time.monotonic()
    while any(samples(base).get(queue, 0) > 0 for queue in QUEUES) and time.monotonic() - started < timeout:
        time.sleep(0.2)


def main() -> None:
    args = arguments()
    if args.setup:
        names = register_pair(args.tracking_uri)
        args.penguins_model, args.covertype_model = names["penguins"], names["covertype"]
    versions = {name: production_version(args.tracking_uri, name) for name in (args.penguins_model, args.covertype_model)}
    penguins = example_rows(args.tracking_uri, f"models:/{args.penguins_model}/{versions[args.penguins_model]}")[0]
    cover = example_rows(args.tracking_uri, f"models:/{args.covertype_model}/{versions[args.covertype_model]}")[0]
    penguins_route, cover_route = (f"/predict/{name.removesuffix('-classifier')}" for name in versions)
    cases = [("POST /predict/penguins (1 row)", penguins_route, penguins), ("POST /predict/covertype (1 row)", cover_route, cover)]
    database, writer_url, admin = scratch_database(args.mysql_url, (*PREDICTION_LOG, "shadow_predictions"))
    base_env = {
        **os.environ,
        "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false",
        "INFERENCE_MLFLOW_TRACKING_URI": args.tracking_uri,
        "INFERENCE_MODELS": f"{args.penguins_model},{args.covertype_model}",
        "INFERENCE_PENGUINS_MODEL": args.penguins_model,
        "INFERENCE_COVERTYPE_MODEL": args.covertype_model,
        "PREDICTION_LOG": "on",
        "PREDICTION_LOG_DB_URL": writer_url,
    }
    modes = {"off": {"INFERENCE_SHADOW": "off"}, "on": {"INFERENCE_SHADOW": "on"}}
    if args.max_rows_per_second is not None:
        modes["on"]["INFERENCE_SHADOW_MAX_ROWS_PER_SECOND"] = str(args.max_rows_per_second)
    processes: list[Any] = []
    print(
        f"production {versions}, {args.rounds} rounds x {args.seconds}s per case and mode, c={args.connections}, "
        f"one uvicorn worker each, prediction log on in both, wrk and MySQL on the same machine\n"
    )
    try:
        bases, pids = start_modes(args.python, base_env, modes, processes)
        for name in versions:
            report = get_json(f"{bases['on']}/models/{name}/shadow")
            if report["challenger_version"] is None:
                sys.exit(f"{name} has no challenger loaded (alias 'challenger' on a version other than production's): nothing to compare")
        for _, path, body in cases:
            for base in bases.values():
                post(f"{base}{path}", body)  # fail early on a body the route refuses
        results = measure_alternating(args, cases, bases, pids, "shadow", lambda mode: drain(bases[mode]))
        on = samples(bases["on"])
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
    drop_scratch_database(database, writer_url, admin)
    print("\n| case | shadow off req/s | shadow on req/s | on / off | CPU ms/request off / on | p50 off / on ms | p99 off / on ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    total = {"off": 0.0, "on": 0.0}
    for label, _, _ in cases:
        runs = {m: results[(label, m)] for m in ("off", "on")}
        rps = {m: sum(r["rps"] for r in rs) / len(rs) for m, rs in runs.items()}
        median = {k: {m: sorted(r[k] for r in rs)[len(rs) // 2] for m, rs in runs.items()} for k in ("p50", "p99", "cpu_ms")}
        total["off"] += rps["off"]
        total["on"] += rps["on"]
        print(
            f"| `{label}` | {rps['off']:.0f} | {rps['on']:.0f} | {rps['on'] / rps['off']:.3f} | "
            f"{median['cpu_ms']['off']:.3f} / {median['cpu_ms']['on']:.3f} | "
            f"{median['p50']['off']:.2f} / {median['p50']['on']:.2f} | {median['p99']['off']:.2f} / {median['p99']['on']:.2f} |"
        )
    print(f"\nshadow on / off over both cases (mean req/s): {total['on'] / total['off']:.3f}")
    dropped = {
        reason: on.get(f'inference_shadow_dropped_rows_total{{reason="{reason}"}}', 0)
        for reason in ("queue_full", "rate_limit", "rejected", "error")
    }
    unwritten = sum(on.get(f'shadow_predictions_dropped_total{{reason="{reason}"}}', 0) for reason in ("queue_full", "db_error"))
    print(
        f"rows scored in shadow {on.get('inference_shadow_rows_total', 0):.0f}, not scored {dropped}; "
        f"the shadow log wrote {on.get('shadow_predictions_logged_total', 0):.0f} and dropped {unwritten:.0f}"
    )


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


if __name__ == "__main__":
    main()
