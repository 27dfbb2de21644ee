"""The inference service's routes side by side, on one server in one run, loaded with wrk.

    .venv/inference/bin/python bench/inference_routes.py --tracking-uri http://localhost:5000 \
        --mysql-url mysql+pymysql://root:<MYSQL_ROOT_PASSWORD>@127.0.0.1:3306/ --rounds 3

Starts one inference process (one uvicorn worker, as in the compose file) serving the
penguins and Covertype production models, with the prediction log on and writing to a
scratch database when `--mysql-url` is given (as bench/prediction_log.py makes it;
dropped at the end), off otherwise. Then, for `--rounds` rounds, every route is loaded
for `--seconds` right after `GET /health` is, at each `--connections`:

- `GET /health`: the framework's ceiling on this machine (no model, no body);
- `POST /predict/penguins` (one row, and two as `{"rows": [...]}`) and `POST /predict/covertype`
  (one row): the platform's own routes;
- `POST /predict` (one penguin; `{"features": [...]}` for Covertype) and
  `POST /predict/batch` (two penguins): the original clients' calls.

Each route's share of `/health` is taken against the `/health` measured just before it
(on a shared machine, figures minutes apart do not compare), and also as CPU: the
server's CPU time per `/health` request over its CPU time per request of the route (the
log's writer thread included), the share a single worker reaches on an idle machine.
Prints the median over the rounds of req/s, p50, p99 and both shares, the original
clients' routes as a ratio of the platform's route for the same model, and what the
log wrote and dropped. Needs wrk (`apt-get install wrk`) and the inference venv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Run as a script, bench/ is on the import path.
from inference_vs_mlflow_serve import example_rows, free_port, post, production_version, wait_http, wrk
from prediction_log import cpu_seconds, drop_scratch_database, metric, scratch_database

ROOT = Path(__file__).resolve().parents[1]
HEALTH = "GET /health"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "http://localhost:5000"))
    parser.add_argument("--penguins-model", default="penguins-classifier")
    parser.add_argument("--covertype-model", default="covertype-classifier")
    parser.add_argument("--mysql-url", default=None, help="MySQL server for the prediction log's scratch database; none: log off")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="+", default=[16])
    parser.add_argument("--python", default=str(ROOT / ".venv/inference/bin/python"), help="python of the inference venv")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    return args


def main() -> None:
    args = arguments()
    versions = {name: production_version(args.tracking_uri, name) for name in (args.penguins_model, args.covertype_model)}
    penguins = example_rows(args.tracking_uri, f"models:/{args.penguins_model}/{versions[args.penguins_model]}")
    cover = example_rows(args.tracking_uri, f"models:/{args.covertype_model}/{versions[args.covertype_model]}")[0]
    features = list(cover.values())  # the input example keeps the spec's column order

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The dataset route of a model is its name without "-classifier".
    penguins_route, cover_route = (f"/predict/{name.removesuffix('-classifier')}" for name in versions)
    # (label, path, body): body None is a GET.
    cases = [
        ("POST /predict/penguins (1 row)", penguins_route, penguins[0]),
        ("POST /predict (1 penguin)", "/predict", penguins[0]),
        ("POST /predict/penguins (2 rows)", penguins_route, {"rows": [penguins[0], penguins[-1]]}),
        ("POST /predict/batch (2 penguins)", "/predict/batch", {"penguins": [penguins[0], penguins[-1]]}),
        ("POST /predict/covertype (1 row)", cover_route, cover),
        ('POST /predict {"features"} (covertype)', "/predict", {"features": features}),
    ]
    env = {
        **os.environ,
        "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false",
        "INFERENCE_MLFLOW_TRACKING_URI": args.tracking_uri,
        "INFERENCE_MODELS": f"{args.penguins_model},{args.covertype_model}",
        "INFERENCE_PENGUINS_MODEL": args.penguins_model,
        "INFERENCE_COVERTYPE_MODEL": args.covertype_model,
        "PREDICTION_LOG": "off",
    }
    scratch = None
    if args.mysql_url:
        scratch = scratch_database(args.mysql_url)
        env.update(PREDICTION_LOG="on", PREDICTION_LOG_DB_URL=scratch[1])
    command = [args.python, "-m", "uvicorn", "inference.main:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    print(
        f"models {versions}, prediction log {env['PREDICTION_LOG']}, {args.rounds} rounds x {args.seconds}s per route "
        f"(each after /health), one uvicorn worker, wrk on the same machine\n"
    )
    # (label, connections) -> one dict per round: rps, p50, p99, cpu_ms, share, cpu_share.
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    process = subprocess.Popen(command, env=env, cwd=ROOT / "inference", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_http(f"{base}/ready")
        for _, path, body in cases:
            post(f"{base}{path}", body)  # fail early on a body the route refuses

        def measured(path: str, body: object, connections: int) -> dict[str, float]:
            cpu = cpu_seconds(process.pid)
            r = wrk(f"{base}{path}", body, connections, args.seconds)
            if scratch is not None:  # the log's backlog is written inside the route's own time
                while metric(base, "prediction_log_queue_rows") > 0:
                    time.sleep(0.1)
            r["cpu_ms"] = (cpu_seconds(process.pid) - cpu) * 1000 / (r["rps"] * args.seconds)
            return r

        for round_ in range(args.rounds):
            for label, path, body in cases:
                for connections in args.connections:
                    ceiling = measured("/health", None, connections)
                    r = measured(path, body, connections)
                    r["share"], r["cpu_share"] = r["rps"] / ceiling["rps"], ceiling["cpu_ms"] / r["cpu_ms"]
                    results.setdefault((HEALTH, connections), []).append(ceiling)
                    results.setdefault((label, connections), []).append(r)
                    print(
                        f"round {round_ + 1} | {label:>40} | c={connections:<2} | {r['rps']:8.1f} req/s | p50 {r['p50']:6.2f} ms "
                        f"| p99 {r['p99']:7.2f} ms | {r['share']:4.0%} of /health ({ceiling['rps']:.0f}) | CPU {r['cpu_share']:4.0%}",
                        flush=True,
                    )
        logged = metric(base, "predictions_logged_total")
        dropped = sum(metric(base, "predictions_dropped_total", f'{{reason="{reason}"}}') for reason in ("queue_full", "db_error"))
    finally:
        process.terminate()
        process.wait(30)
        if scratch is not None:
            drop_scratch_database(*scratch)

    same_model = {
        "POST /predict (1 penguin)": "POST /predict/penguins (1 row)",
        # The same two rows through the platform's own batch body.
        "POST /predict/batch (2 penguins)": "POST /predict/penguins (2 rows)",
        'POST /predict {"features"} (covertype)': "POST /predict/covertype (1 row)",
    }

    def median(label: str, connections: int, key: str) -> float:
        return statistics.median(r[key] for r in results[(label, connections)])

    print(
        "\n| route | c | req/s | p50 ms | p99 ms | p99 / p50 | share of /health (req/s) | share of /health (CPU) | vs the platform's route |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, connections in results:
        rps, p50, p99 = (median(label, connections, key) for key in ("rps", "p50", "p99"))
        reference = same_model.get(label)
        ratio = f"{rps / median(reference, connections, 'rps'):.2f}" if reference else ""
        shares = (
            "| |" if label == HEALTH else f"| {median(label, connections, 'share'):.0%} | {median(label, connections, 'cpu_share'):.0%} |"
        )
        print(f"| `{label}` | {connections} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {p99 / p50:.1f} {shares} {ratio} |")
    if scratch is not None:
        print(f"\nthe prediction log wrote {logged:.0f} rows and dropped {dropped:.0f}")


if __name__ == "__main__":
    main()
