"""The inference service's routes side by side, on one server in one run, loaded with wrk.

    .venv/inference/bin/python bench/inference_routes.py --tracking-uri http://localhost:5000

Starts one inference process (one uvicorn worker, as in the compose file) serving the
penguins and Covertype production models, then measures each route for the same
`--seconds` at concurrency 1 and 16:

- `GET /health`: the framework's ceiling on this machine (no model, no body);
- `POST /predict/penguins` (one row, and two as `{"rows": [...]}`) and `POST /predict/covertype`
  (one row): the platform's own routes;
- `POST /predict` (one penguin; `{"features": [...]}` for Covertype) and
  `POST /predict/batch` (two penguins): the original clients' calls.

Prints requests per second, p50/p99 latency, each route's share of `/health`, and the
original clients' routes as a ratio of the platform's route for the same model.
Needs wrk (`apt-get install wrk`) and the inference venv (`.venv/inference`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# Run as a script, bench/ is on the import path.
from inference_vs_mlflow_serve import arguments, example_rows, free_port, post, production_version, wait_http, wrk

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    args = arguments(__doc__.splitlines()[0], {"penguins-model": "penguins-classifier", "covertype-model": "covertype-classifier"})
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
        ("GET /health", "/health", None),
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
        # The routes' own cost; the prediction log's is bench/prediction_log.py's.
        "PREDICTION_LOG": os.environ.get("PREDICTION_LOG", "off"),
    }
    command = [args.python, "-m", "uvicorn", "inference.main:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    print(f"models {versions}, {args.seconds}s per measurement, one uvicorn worker, wrk on the same machine\n")
    results: dict[tuple[str, int], dict[str, float]] = {}
    process = subprocess.Popen(command, env=env, cwd=ROOT / "inference", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_http(f"{base}/ready")
        for label, path, body in cases:
            if body is not None:
                post(f"{base}{path}", body)  # fail early on a body the route refuses
            for connections in (1, 16):
                r = results[(label, connections)] = wrk(f"{base}{path}", body, connections, args.seconds)
                print(
                    f"{label:>40} | c={connections:<2} | {r['rps']:8.1f} req/s | p50 {r['p50']:7.2f} ms | p99 {r['p99']:7.2f} ms",
                    flush=True,
                )
    finally:
        process.terminate()
        process.wait(30)

    same_model = {
        "POST /predict (1 penguin)": "POST /predict/penguins (1 row)",
        # The same two rows through the platform's own batch body.
        "POST /predict/batch (2 penguins)": "POST /predict/penguins (2 rows)",
        'POST /predict {"features"} (covertype)': "POST /predict/covertype (1 row)",
    }
    print("\n| route | concurrency | req/s | p50 ms | p99 ms | share of /health | vs the platform's route |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (label, connections), r in results.items():
        ceiling = results[("GET /health", connections)]["rps"]
        reference = same_model.get(label)
        ratio = f"{r['rps'] / results[(reference, connections)]['rps']:.2f}" if reference else ""
        print(f"| `{label}` | {connections} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['rps'] / ceiling:.0%} | {ratio} |")


if __name__ == "__main__":
    main()
