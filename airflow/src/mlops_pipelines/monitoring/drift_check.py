"""One drift check: the production version's training rows against the window's predictions and ingested rows.

Rows go to `feature_drift` (one per feature and source), the HTML report to an
MLflow run in `<dataset>-monitoring`. Idempotent per check id (the DAG run id):
a retry finds the run by its tag and the rows by their unique key.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine

from mlflow import MlflowClient
from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.mlflow_helpers import experiment_id, quote
from mlops_pipelines.mlflow_names import DRIFT_REPORT_FILE, TAG_MONITOR_CHECK, monitoring_experiment
from mlops_pipelines.monitoring import drift
from mlops_pipelines.monitoring.quality import create_monitoring_run
from mlops_pipelines.monitoring.served import ServedVersion, production
from mlops_pipelines.monitoring.store import insert_ignoring_duplicates
from mlops_pipelines.storage import utcnow
from mlops_pipelines.tables import CLEAN, FEATURE_DRIFT, PREDICTION_REQUESTS, create_tables, request_rows

log = logging.getLogger(__name__)

SOURCES = ("predictions", "ingested")
# Rows read per side at most (a seeded sample of the training rows; the newest of the window).
MAX_ROWS = 20_000


def reference_rows(engine: Engine, contract: DatasetContract, served: ServedVersion, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """The production version's training snapshot (clean rows with id <= its max id), sampled with a fixed seed."""
    table = CLEAN[contract.name]
    query = select(*(table.c[name] for name in contract.feature_names))
    if served.snapshot_max_id is not None:
        query = query.where(table.c.id <= served.snapshot_max_id)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query.order_by(table.c.id)).all(), columns=contract.feature_names)
    return frame.sample(max_rows, random_state=0) if len(frame) > max_rows else frame


def ingested_rows(engine: Engine, contract: DatasetContract, start: datetime, end: datetime, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Clean rows validated in [start, end), newest first."""
    table = CLEAN[contract.name]
    query = (
        select(*(table.c[name] for name in contract.feature_names))
        .where(table.c.validated_at >= start, table.c.validated_at < end)
        .order_by(table.c.id.desc())
        .limit(max_rows)
    )
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).all(), columns=contract.feature_names)


def prediction_rows(engine: Engine, contract: DatasetContract, start: datetime, end: datetime, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """The input rows inference logged in [start, end) (the `predictions` view's `features`, JSON), newest requests first.

    Read from the newest `max_rows` requests of the window (each has a row or more) by the
    index on (dataset, predicted_at), so only they are expanded into rows, not the whole
    window. Empty when the prediction log's table does not exist (yet): inference may log nothing.
    """
    if not inspect(engine).has_table(PREDICTION_REQUESTS.name):
        return pd.DataFrame(columns=contract.feature_names)
    query = text(
        "SELECT r.features FROM (SELECT id, row_predictions FROM prediction_requests "
        "WHERE dataset = :dataset AND predicted_at >= :start AND predicted_at < :end ORDER BY predicted_at DESC LIMIT :limit) AS q, "
        f"{request_rows('q')} LIMIT :limit"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"dataset": contract.name, "start": start, "end": end, "limit": max_rows}).scalars().all()
    records = []
    for value in rows:
        try:
            record = json.loads(value)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    frame = pd.DataFrame.from_records(records)
    return frame.reindex(columns=contract.feature_names)


def _report_run(client: MlflowClient, contract: DatasetContract, served: ServedVersion, check_id: str, report: str, shares: dict) -> str:
    experiment = experiment_id(client, monitoring_experiment(contract.name))
    found = client.search_runs([experiment], filter_string=f"tags.`{TAG_MONITOR_CHECK}` = {quote(check_id)}", max_results=1)
    run_id = found[0].info.run_id if found else None
    if run_id is None:
        run_id = create_monitoring_run(client, contract, served, "drift", f"drift {check_id}", {TAG_MONITOR_CHECK: check_id})
    for source, share in shares.items():
        client.log_metric(run_id, f"drifted_share_{source}", share)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, DRIFT_REPORT_FILE)
        with open(path, "w") as fh:
            fh.write(report)
        client.log_artifact(run_id, path)
    client.set_terminated(run_id, "FINISHED")
    return run_id


def run_check(
    engine: Engine,
    client: MlflowClient,
    contract: DatasetContract,
    check_id: str,
    window_hours: float,
    end: datetime | None = None,
    model_name: str | None = None,
    min_rows: int = drift.MIN_ROWS,
) -> dict[str, Any] | None:
    """Compare each source of the window with the production version's training rows.

    None when no version holds @production. Otherwise a summary: per source the
    rows compared and the share of drifted features (None: fewer than `min_rows`).
    """
    create_tables(engine)
    served = production(client, model_name or contract.registered_model_name)
    if served is None:
        return None
    end = end or utcnow().replace(microsecond=0)
    start = end - timedelta(hours=window_hours)
    reference = reference_rows(engine, contract, served)
    current = {"predictions": prediction_rows(engine, contract, start, end), "ingested": ingested_rows(engine, contract, start, end)}
    sections = {source: drift.compare(contract, reference, frame, min_rows=min_rows) for source, frame in current.items()}
    shares = {source: drift.drifted_share(results) for source, results in sections.items() if results}
    context = {
        "model": f"{served.name} version {served.version}",
        "training rows": f"{len(reference)} (clean rows up to id {served.snapshot_max_id})",
        "window": f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC",
        "check": check_id,
        **{f"{source} rows": str(len(frame)) for source, frame in current.items()},
    }
    report = drift.html_report(f"{contract.name}: feature drift", sections, context, min_rows=min_rows)
    run_id = _report_run(client, contract, served, check_id, report, shares)
    measured = utcnow().replace(microsecond=0)
    rows = [
        {
            "check_id": check_id,
            "source": source,
            "feature": r.feature,
            "dataset": contract.name,
            "model_name": served.name,
            "model_version": served.version,
            "window_start": start,
            "window_end": end,
            # The table keeps one figure of each kind: the size of the change (what the ui charts,
            # on one scale for every feature) and the p-value the decision used.
            "method": r.method,
            "statistic": r.psi,
            "p_value": r.p_adjusted,
            "drifted": r.drifted,
            "rows_compared": r.rows_current,
            "report_run_id": run_id,
            "measured_at": measured,
        }
        for source, results in sections.items()
        for r in results
    ]
    with engine.begin() as conn:
        insert_ignoring_duplicates(conn, FEATURE_DRIFT, rows)
    summary = {
        "check_id": check_id,
        "model_version": served.version,
        "report_run_id": run_id,
        "rows": {source: len(frame) for source, frame in current.items()},
        "drifted_share": {source: shares.get(source) for source in SOURCES},
        "drifted": {source: [r.feature for r in results if r.drifted] for source, results in sections.items()},
    }
    log.info("drift check %s: %s", check_id, summary)
    return summary
