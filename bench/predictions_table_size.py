"""The prediction log's table (prediction_requests) size per million predictions, per dataset, on a real MySQL/MariaDB server.

    .venv/inference/bin/python bench/predictions_table_size.py \
        --mysql-url mysql+pymysql://root:<MYSQL_ROOT_PASSWORD>@127.0.0.1:3306/ --rows 250000

Writes `--rows` predictions per dataset, `--rows-per-request` a request (default 1; the
table keeps a row per request), through inference's own prediction log
(inference.prediction_log: the same JSON and columns as the service writes) into a
scratch database whose table is made from contract/monitoring-tables.json, then reads
data_length + index_length from information_schema after ANALYZE TABLE and scales it to
a million rows. Covertype rows are real rows of the Covertype file (`--covertype`,
default $COVERTYPE_PATH); penguin rows are drawn within the feature spec's ranges;
probabilities are full-precision floats summing to 1, as a model gives them.
The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from prediction_log import CONTRACT, scratch_database
from sqlalchemy import create_engine, text

from inference.metrics import Metrics
from inference.prediction_log import PredictionLog
from inference.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SPECS = {name: __import__("json").loads((ROOT / "contract" / "specs" / f"{name}.json").read_text()) for name in ("penguins", "covertype")}


def probabilities(classes: list, rng: random.Random) -> dict[str, float]:
    raw = [rng.random() ** 3 for _ in classes]
    total = sum(raw)
    return {str(c): v / total for c, v in zip(classes, raw, strict=True)}


def penguin_rows(n: int, rng: random.Random) -> list[dict]:
    spec = SPECS["penguins"]["features"]
    rows = []
    for _ in range(n):
        row = {}
        for f in spec:
            if f["kind"] == "categorical":
                row[f["name"]] = rng.choice(f["categories"])
            else:
                row[f["name"]] = round(rng.uniform(f["minimum"], f["maximum"]), 1)
        rows.append(row)
    return rows


def covertype_rows(n: int, path: str) -> list[dict]:
    names = [f["name"] for f in SPECS["covertype"]["features"]]
    frame = pd.read_csv(path, nrows=n)
    frame = frame[[c for c in frame.columns if c in names]]
    records = frame.to_dict("records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in (records * (n // len(records) + 1))[:n]]


def measure(admin_url: str, dataset: str, rows: list[dict], per_request: int = 1) -> tuple[int, int, float]:
    database, writer_url, admin = scratch_database(admin_url)
    settings = Settings(prediction_log_db_url=writer_url, prediction_log_batch_rows=2000, prediction_log_queue_rows=len(rows) + 1)
    log = PredictionLog(settings, Metrics(), create_engine(writer_url))
    classes = SPECS[dataset]["target"]["classes"]
    model = SimpleNamespace(name=f"{dataset}-classifier", version="3", dataset=dataset)
    rng = random.Random(7)
    started = time.perf_counter()
    for at in range(0, len(rows), per_request):
        request = rows[at : at + per_request]
        predictions = []
        for _ in request:
            proba = probabilities(classes, rng)
            best = max(proba, key=proba.__getitem__)
            label = int(best) if dataset == "covertype" else best
            predictions.append({"label": label, "confidence": proba[best], "probabilities": proba})
        # A generated request id, as the service gives callers that send none.
        log.record(uuid.uuid4().hex, f"/predict/{dataset}", model, request, predictions, rng.uniform(0.0002, 0.002))  # type: ignore[arg-type]
    log.flush()
    seconds = time.perf_counter() - started
    try:
        with admin.begin() as conn:
            count = int(conn.execute(text(f"SELECT SUM(n_rows) FROM `{database}`.prediction_requests")).scalar_one())
            conn.execute(text(f"ANALYZE TABLE `{database}`.prediction_requests"))
            size, engine = conn.execute(
                text(
                    "SELECT data_length + index_length, engine FROM information_schema.tables "
                    "WHERE table_schema = :db AND table_name = 'prediction_requests'"
                ),
                {"db": database},
            ).one()
            version = conn.execute(text("SELECT VERSION()")).scalar_one()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE `{database}`"))
            conn.execute(text(f"DROP USER '{writer_url.split('://')[1].split(':')[0]}'@'%'"))
    print(
        f"{dataset}: {count} predictions ({per_request} a request) written in {seconds:.1f}s by the log's writer; {engine} on {version}: {size / 1e6:.1f} MB"
    )
    return count, int(size), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mysql-url", default=os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root:change-me-mysql-root@127.0.0.1:3306/")
    )
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--rows-per-request", type=int, default=1, help="rows a request carries (the table keeps a row per request)")
    parser.add_argument("--covertype", default=os.environ.get("COVERTYPE_PATH", str(ROOT.parent / "shared" / "data" / "covertype.csv.gz")))
    args = parser.parse_args()
    assert CONTRACT["tables"]["predictions"]
    results = {
        "penguins": measure(args.mysql_url, "penguins", penguin_rows(args.rows, random.Random(1)), args.rows_per_request),
        "covertype": measure(args.mysql_url, "covertype", covertype_rows(args.rows, args.covertype), args.rows_per_request),
    }
    print(
        f"\n{args.rows_per_request} row(s) a request\n| dataset | predictions | data + indexes | per million predictions | per prediction |"
    )
    print("| --- | --- | --- | --- | --- |")
    for dataset, (count, size, _) in results.items():
        print(f"| {dataset} | {count:,} | {size / 1e6:.1f} MB | {size / count * 1e6 / 1e6:.0f} MB | {size / count:.0f} bytes |")


if __name__ == "__main__":
    main()
