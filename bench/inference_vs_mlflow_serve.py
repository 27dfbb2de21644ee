"""Serve one registered model with this platform's inference service and with
`mlflow models serve`, one after the other, and load both with wrk.

    python bench/inference_vs_mlflow_serve.py --tracking-uri http://localhost:5000 --model penguins-classifier

Needs: the inference service's venv (`.venv/inference`, made by
`./scripts/test.sh fast`; it has mlflow-skinny, scikit-learn and uvicorn) and
wrk (`apt-get install wrk`). Prints requests per second and p50/p99 latency
for single-row and 100-row requests at concurrency 1 and 16, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# MLflow needs a login: as the e2e suite, the admin from the compose file's
# variables and defaults (MLflow's client, and the servers started here, read these).
os.environ.setdefault("MLFLOW_TRACKING_USERNAME", os.environ.get("MLFLOW_ADMIN_USER", "admin"))
os.environ.setdefault("MLFLOW_TRACKING_PASSWORD", os.environ.get("MLFLOW_ADMIN_PASSWORD", "change-me-mlflow-admin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


def post(url: str, body: object) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wrk(url: str, body: object, connections: int, seconds: int) -> dict[str, float]:
    """wrk's figures for POSTing `body` as JSON to `url`, or GETting it when `body` is None."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    if body is not None:
        script.write(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = {json.dumps(json.dumps(body))}\n')
    script.close()
    threads = min(connections, 2)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers from {url}:\n{out}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"), "p99": ms("99%")}


def example_rows(tracking_uri: str, model_uri: str) -> list[dict]:
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    os.environ.setdefault("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    from mlflow.models import Model

    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp)
        example = Model.load(local).load_input_example(local)
    rows = example.astype(object).where(example.notna(), None).to_dict("records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows]


def arguments(description: str, models: dict[str, str]) -> argparse.Namespace:
    """The benchmarks' command line: the tracking server, `--<model> NAME` per entry of `models`, seconds, python."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "http://localhost:5000"))
    for option, default in models.items():
        parser.add_argument(f"--{option}", default=default)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--python", default=str(ROOT / ".venv/inference/bin/python"), help="python of the inference venv")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    return args


def production_version(tracking_uri: str, name: str) -> str:
    from mlflow import MlflowClient

    return str(MlflowClient(tracking_uri=tracking_uri).get_model_version_by_alias(name, "production").version)


def main() -> None:
    args = arguments(__doc__.splitlines()[0], {"model": "penguins-classifier"})
    version = production_version(args.tracking_uri, args.model)
    model_uri = f"models:/{args.model}/{version}"
    rows = example_rows(args.tracking_uri, model_uri)
    batch = [rows[i % len(rows)] for i in range(100)]
    bin_dir = Path(args.python).parent
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": args.tracking_uri,
        "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false",
        # `mlflow models serve` runs `uvicorn` from PATH.
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    print(f"model {model_uri}, {args.seconds}s per measurement, wrk on the same 2-core machine\n")

    results: dict[tuple[str, str, int], dict[str, float]] = {}
    servers = {
        "inference": lambda port: (
            [args.python, "-m", "uvicorn", "inference.main:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
            {**env, "INFERENCE_MODELS": args.model, "INFERENCE_MLFLOW_TRACKING_URI": args.tracking_uri},
            ROOT / "inference",
            "/ready",
            "/models/" + args.model + "/predict",
            lambda rs: rs[0] if len(rs) == 1 else {"rows": rs},
        ),
        "mlflow models serve": lambda port: (
            [
                str(bin_dir / "mlflow"),
                "models",
                "serve",
                "-m",
                model_uri,
                "--env-manager",
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env,
            ROOT,
            "/ping",
            "/invocations",
            lambda rs: {"dataframe_records": rs},
        ),
    }
    for server, spec in servers.items():
        port = free_port()
        command, server_env, cwd, ready_path, predict_path, body_of = spec(port)
        process = subprocess.Popen(command, env=server_env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_http(f"http://127.0.0.1:{port}{ready_path}")
            url = f"http://127.0.0.1:{port}{predict_path}"
            for payload_rows in (rows[:1], batch):
                post(url, body_of(payload_rows))  # warm up, and fail early on a bad body
                for connections in (1, 16):
                    r = wrk(url, body_of(payload_rows), connections, args.seconds)
                    results[(server, f"{len(payload_rows)} row" + ("s" if len(payload_rows) > 1 else ""), connections)] = r
                    print(
                        f"{server:>20} | {len(payload_rows):>3} rows | c={connections:<2} | "
                        f"{r['rps']:8.1f} req/s | p50 {r['p50']:7.2f} ms | p99 {r['p99']:7.2f} ms",
                        flush=True,
                    )
        finally:
            process.terminate()
            process.wait(30)

    print("\n| payload | concurrency | inference req/s | p50 ms | p99 ms | mlflow serve req/s | p50 ms | p99 ms | req/s ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (server, payload, connections), ours in results.items():
        if server != "inference":
            continue
        theirs = results[("mlflow models serve", payload, connections)]
        print(
            f"| {payload} | {connections} | {ours['rps']:.0f} | {ours['p50']:.2f} | {ours['p99']:.2f} | "
            f"{theirs['rps']:.0f} | {theirs['p50']:.2f} | {theirs['p99']:.2f} | {ours['rps'] / theirs['rps']:.1f}x |"
        )


if __name__ == "__main__":
    main()
