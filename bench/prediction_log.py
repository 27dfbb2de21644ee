"""Throughput with the prediction log on against off, in one run, loaded with wrk.

    .venv/inference/bin/python bench/prediction_log.py --tracking-uri http://localhost:5000 \
        --mysql-url mysql+pymysql://root:<MYSQL_ROOT_PASSWORD>@127.0.0.1:3306/

Starts two inference processes (one uvicorn worker each, as in the compose file) serving
the same production models: one with PREDICTION_LOG=off, one with PREDICTION_LOG=on
writing to a scratch database on the given MySQL server (made from
contract/monitoring-tables.json, written by a user that may only insert, dropped at the
end). Then, for `--rounds` rounds, each case is loaded for `--seconds` on one process and
then the other (which goes first alternates by round), so both see the same machine; after
each logging-on measurement the bench waits for the log's queue to empty, so one's writes
do not land in the other's time. Prints requests per second and p50/p99 per case and
mode, the on/off ratio per case over all rounds, and what the log wrote and dropped.
Needs wrk and the inference venv (`.venv/inference`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

# Run as a script, bench/ is on the import path.
from inference_vs_mlflow_serve import example_rows, free_port, post, production_version, wait_http, wrk

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = json.loads((ROOT / "contract" / "monitoring-tables.json").read_text())


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a bench that loads two inference processes against each other (this one, shadow.py)."""
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "http://localhost:5000"))
    parser.add_argument("--penguins-model", default="penguins-classifier")
    parser.add_argument("--covertype-model", default="covertype-classifier")
    parser.add_argument(
        "--mysql-url", default=os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root:change-me-mysql-root@127.0.0.1:3306/")
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--python", default=str(ROOT / ".venv/inference/bin/python"), help="python of the inference venv")


def parsed(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    return args


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_arguments(parser)
    parser.add_argument("--only", default="", help="only the cases whose label contains this, e.g. '100 rows'")
    return parsed(parser)


# The prediction log's table and the view it is read through.
PREDICTION_LOG = ("prediction_requests", "predictions")


def scratch_database(admin_url: str, tables: tuple[str, ...] = PREDICTION_LOG) -> tuple[str, str, Any]:
    """A database with the given monitoring tables (and views) and a user that may only insert into the tables,
    and alias_moves; returns its name, the user's URL, the admin engine."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url)
    name, user = f"bench_{uuid.uuid4().hex[:10]}", f"bench_w_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
        conn.execute(text(f"USE `{name}`"))
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'bench-{user}'"))
        for table in tables:
            for statement in CONTRACT["tables"][table]["ddl"]:  # airflow's own statements (the golden file)
                conn.execute(text(statement))
            if "view_of" not in CONTRACT["tables"][table]:  # a view is written through its table
                conn.execute(text(f"GRANT INSERT ON `{name}`.{table} TO '{user}'@'%'"))
        # The alias history every inference process records its first versions in, with inference's rights.
        for statement in CONTRACT["tables"]["alias_moves"]["ddl"]:
            conn.execute(text(statement))
        conn.execute(text(f"GRANT SELECT, INSERT ON `{name}`.alias_moves TO '{user}'@'%'"))
    url = make_url(admin_url).set(database=name, username=user, password=f"bench-{user}")
    return name, url.render_as_string(hide_password=False), admin


def start_inference(python: str, env: dict[str, str]) -> tuple[str, subprocess.Popen]:
    """An inference process (one uvicorn worker, as in the compose file) with this environment: its address and process."""
    port = free_port()
    command = [python, "-m", "uvicorn", "inference.main:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    return f"http://127.0.0.1:{port}", subprocess.Popen(command, env=env, cwd=ROOT / "inference", stdout=subprocess.DEVNULL)


def start_modes(
    python: str, env: dict[str, str], modes: dict[str, dict[str, str]], processes: list[Any]
) -> tuple[dict[str, str], dict[str, int]]:
    """An inference process per mode, with `env` and the mode's settings, all ready: their addresses and pids.

    Each is appended to `processes` as it starts, so the caller stops them whatever fails.
    """
    bases, pids = {}, {}
    for mode, extra in modes.items():
        bases[mode], process = start_inference(python, {**env, **extra})
        processes.append(process)
        pids[mode] = process.pid
    for base in bases.values():
        wait_http(f"{base}/ready")
    return bases, pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads: the log's writer included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(base: str, name: str, labels: str = "") -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        body = response.read().decode()
    found = re.search(rf"^{re.escape(name + labels)} ([0-9.e+-]+)$", body, re.M)
    return float(found.group(1)) if found else 0.0


def main() -> None:
    args = arguments()

    versions = {name: production_version(args.tracking_uri, name) for name in (args.penguins_model, args.covertype_model)}
    penguins = example_rows(args.tracking_uri, f"models:/{args.penguins_model}/{versions[args.penguins_model]}")
    cover = example_rows(args.tracking_uri, f"models:/{args.covertype_model}/{versions[args.covertype_model]}")[0]
    penguins_route, cover_route = (f"/predict/{name.removesuffix('-classifier')}" for name in versions)
    cases = [
        ("POST /predict/penguins (1 row)", penguins_route, penguins[0]),
        ("POST /predict/covertype (1 row)", cover_route, cover),
        ("POST /predict/covertype (100 rows)", cover_route, {"rows": [cover] * 100}),
        ('POST /predict {"features"} (covertype)', "/predict", {"features": list(cover.values())}),
    ]
    cases = [case for case in cases if args.only in case[0]]
    database, writer_url, admin = scratch_database(args.mysql_url)
    base_env = {
        **os.environ,
        "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false",
        "INFERENCE_MLFLOW_TRACKING_URI": args.tracking_uri,
        "INFERENCE_MODELS": f"{args.penguins_model},{args.covertype_model}",
        "INFERENCE_PENGUINS_MODEL": args.penguins_model,
        "INFERENCE_COVERTYPE_MODEL": args.covertype_model,
    }
    modes = {
        "off": {"PREDICTION_LOG": "off"},
        "on": {"PREDICTION_LOG": "on", "PREDICTION_LOG_DB_URL": writer_url},
    }
    processes: list[Any] = []
    print(
        f"models {versions}, {args.rounds} rounds x {args.seconds}s per case and mode, c={args.connections}, "
        f"one uvicorn worker each, wrk and MySQL on the same machine\n"
    )
    try:
        bases, pids = start_modes(args.python, base_env, modes, processes)
        for _, path, body in cases:
            for base in bases.values():
                post(f"{base}{path}", body)  # fail early on a body the route refuses
        results = measure_alternating(args, cases, bases, pids, "log", lambda mode: mode == "on" and drain_log(bases["on"]))
        logged = metric(bases["on"], "predictions_logged_total")
        dropped = {
            reason: metric(bases["on"], "predictions_dropped_total", f'{{reason="{reason}"}}') for reason in ("queue_full", "db_error")
        }
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
    rows, size = drop_scratch_database(database, writer_url, admin)
    print(
        "\n| case | log off req/s | log on req/s | on / off | CPU ms/request off / on | off / on CPU | p50 off / on ms | p99 off / on ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    total = {"off": 0.0, "on": 0.0}
    cpu_ratios = []
    for label, _, _ in cases:
        off, on = results[(label, "off")], results[(label, "on")]
        rps = {m: sum(r["rps"] for r in rs) / len(rs) for m, rs in (("off", off), ("on", on))}
        p50 = {m: sorted(r["p50"] for r in rs)[len(rs) // 2] for m, rs in (("off", off), ("on", on))}
        p99 = {m: sorted(r["p99"] for r in rs)[len(rs) // 2] for m, rs in (("off", off), ("on", on))}
        # Median CPU per request over the rounds.
        cpu = {m: sorted(r["cpu_ms"] for r in rs)[len(rs) // 2] for m, rs in (("off", off), ("on", on))}
        total["off"] += rps["off"]
        total["on"] += rps["on"]
        cpu_ratios.append(cpu["off"] / cpu["on"])
        print(
            f"| `{label}` | {rps['off']:.0f} | {rps['on']:.0f} | {rps['on'] / rps['off']:.3f} | "
            f"{cpu['off']:.3f} / {cpu['on']:.3f} | {cpu['off'] / cpu['on']:.3f} | "
            f"{p50['off']:.2f} / {p50['on']:.2f} | {p99['off']:.2f} / {p99['on']:.2f} |"
        )
    print(f"\nlog on / off over all cases (mean req/s): {total['on'] / total['off']:.3f}")
    print(
        f"log off / on CPU per request, mean over the cases (the throughput ratio on an idle machine): {sum(cpu_ratios) / len(cpu_ratios):.3f}"
    )
    print(f"the log wrote {logged:.0f} rows ({rows} in the table, {size / 1e6:.1f} MB with indexes); dropped {dropped}")


def drain_log(base: str) -> None:
    started = time.monotonic()
    while metric(base, "prediction_log_queue_rows") > 0 and time.monotonic() - started < 60:
        time.sleep(0.2)


def measure_alternating(
    args: argparse.Namespace, cases: list[tuple[str, str, Any]], bases: dict[str, str], pids: dict[str, int], what: str, settle: Any
) -> dict[tuple[str, str], list[dict[str, float]]]:
    """Each case loaded with wrk on the "off" process and the "on" one for args.rounds rounds, printed as it goes.

    Which goes first alternates by round, so both see the same machine; `settle(mode)` runs
    after each measurement (waiting for that process's queues), so one's leftover work does
    not land in the other's time and its CPU is counted with the requests that caused it.
    """
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for round_ in range(args.rounds):
        order = ["off", "on"] if round_ % 2 == 0 else ["on", "off"]
        for label, path, body in cases:
            for mode in order:
                cpu = cpu_seconds(pids[mode])
                r = wrk(f"{bases[mode]}{path}", body, args.connections, args.seconds)
                results.setdefault((label, mode), []).append(r)
                settle(mode)
                # The process's CPU per request, its worker threads' included: what decides
                # throughput on an otherwise idle machine, and far less noisy than req/s on a busy one.
                r["cpu_ms"] = (cpu_seconds(pids[mode]) - cpu) * 1000 / (r["rps"] * args.seconds)
                print(
                    f"round {round_ + 1} | {label:>40} | {what} {mode:<3} | {r['rps']:8.1f} req/s | p50 {r['p50']:7.2f} ms "
                    f"| p99 {r['p99']:7.2f} ms | {r['cpu_ms']:.3f} CPU ms/request",
                    flush=True,
                )
    return results


def drop_scratch_database(database: str, writer_url: str, admin: Any) -> tuple[int, int]:
    """Drop what `scratch_database` made; returns the predictions (rows of the view) and bytes (data and indexes) its table held."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    with admin.begin() as conn:
        rows = conn.execute(text(f"SELECT COUNT(*) FROM `{database}`.predictions")).scalar_one()
        size = conn.execute(
            text(
                "SELECT data_length + index_length FROM information_schema.tables WHERE table_schema = :db "
                "AND table_name = 'prediction_requests'"
            ),
            {"db": database},
        ).scalar_one()
        conn.execute(text(f"DROP DATABASE `{database}`"))
        conn.execute(text(f"DROP USER '{make_url(writer_url).username}'@'%'"))
    return rows, size


if __name__ == "__main__":
    main()
