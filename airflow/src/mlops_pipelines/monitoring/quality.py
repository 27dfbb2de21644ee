"""Live accuracy: each ingested Covertype batch scored by the production version before anything trains on it.

The batch is the clean rows of one data_api fetch (raw rows of this group,
batch and fetch time). The production version is loaded from the registry as
inference loads it, scored on the rows' labels, and the result is

- an MLflow run in `<dataset>-monitoring` (tags: model name, version, batch, group),
- a row of `model_quality`, with the version's own test scores as its baseline.

Idempotent: the batch's key (group, batch and a digest of its rows'
fingerprints) is the table's unique key together with the model version, and
the MLflow run is found by the same key, so a retried task writes nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from mlflow import MlflowClient
from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.mlflow_helpers import experiment_id, quote
from mlops_pipelines.mlflow_names import (
    TAG_MONITOR_BATCH,
    TAG_MONITOR_BATCH_NUMBER,
    TAG_MONITOR_DATASET,
    TAG_MONITOR_GROUP,
    TAG_MONITOR_KIND,
    TAG_MONITOR_MODEL,
    TAG_MONITOR_VERSION,
    monitoring_experiment,
)
from mlops_pipelines.monitoring.served import ServedVersion, production
from mlops_pipelines.monitoring.store import insert_ignoring_duplicates
from mlops_pipelines.scoring import score, typed
from mlops_pipelines.storage import utcnow
from mlops_pipelines.tables import CLEAN, MODEL_QUALITY, RAW, create_tables

log = logging.getLogger(__name__)


def create_monitoring_run(
    client: MlflowClient, contract: DatasetContract, served: ServedVersion, kind: str, run_name: str, tags: dict[str, str]
) -> str:
    """A run in the dataset's monitoring experiment, tagged with what it watched: its
    kind, the dataset, and the served model's name and version (plus `tags`)."""
    experiment = experiment_id(client, monitoring_experiment(contract.name))
    base = {TAG_MONITOR_KIND: kind, TAG_MONITOR_DATASET: contract.name, TAG_MONITOR_MODEL: served.name, TAG_MONITOR_VERSION: served.version}
    return client.create_run(experiment, run_name=run_name, tags={**base, **tags}).info.run_id


@dataclass(frozen=True)
class Batch:
    """One data_api fetch as ingest_raw reported it."""

    group_number: int
    batch_number: int
    fetched_at: datetime

    @classmethod
    def from_counts(cls, counts: dict[str, Any]) -> Batch:
        fetched = counts["fetched_at"]
        return cls(
            int(counts["group_number"]),
            int(counts["batch_number"]),
            datetime.fromisoformat(fetched) if isinstance(fetched, str) else fetched,
        )


def batch_rows(engine: Engine, contract: DatasetContract, batch: Batch) -> pd.DataFrame:
    """The clean rows (fingerprint, features, target) of one fetch, contract-typed, in id order."""
    raw, clean = RAW[contract.name], CLEAN[contract.name]
    columns = [clean.c.fingerprint, *(clean.c[name] for name in (*contract.feature_names, contract.target))]
    query = (
        select(*columns)
        .join(raw, raw.c.fingerprint == clean.c.fingerprint)
        .where(
            raw.c.group_number == batch.group_number,
            raw.c.batch_number == batch.batch_number,
            raw.c.fetched_at == batch.fetched_at,
        )
        .order_by(clean.c.id)
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=[c.name for c in columns])
    if frame.empty:
        return frame
    return pd.concat([frame[["fingerprint"]].reset_index(drop=True), typed(frame, contract)], axis=1)


def batch_key(batch: Batch, fingerprints: list[str]) -> str:
    """The batch's identity: where it came from and exactly which rows it holds."""
    digest = hashlib.sha256("\n".join(sorted(fingerprints)).encode()).hexdigest()[:16]
    return f"g{batch.group_number}-b{batch.batch_number}-{digest}"


def recorded(engine: Engine, dataset: str, served: ServedVersion, key: str) -> dict[str, Any] | None:
    table = MODEL_QUALITY
    query = select(table).where(
        table.c.dataset == dataset,
        table.c.model_name == served.name,
        table.c.model_version == served.version,
        table.c.batch_key == key,
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def _earlier_run(client: MlflowClient, experiment: str, served: ServedVersion, key: str):
    found = client.search_runs(
        [experiment],
        filter_string=f"tags.`{TAG_MONITOR_BATCH}` = {quote(key)} and tags.`{TAG_MONITOR_VERSION}` = {quote(served.version)} and tags.`{TAG_MONITOR_MODEL}` = {quote(served.name)}",
        max_results=1,
    )
    return found[0] if found and {"accuracy", "f1_macro"} <= set(found[0].data.metrics) else None


def log_run(
    client: MlflowClient, contract: DatasetContract, served: ServedVersion, batch: Batch, key: str, metrics: dict[str, float], rows: int
) -> str:
    run_id = create_monitoring_run(
        client,
        contract,
        served,
        "live_accuracy",
        f"{served.name} v{served.version} {key}",
        {TAG_MONITOR_BATCH: key, TAG_MONITOR_BATCH_NUMBER: str(batch.batch_number), TAG_MONITOR_GROUP: str(batch.group_number)},
    )
    client.log_param(run_id, "rows_scored", rows)
    for name, value in metrics.items():
        client.log_metric(run_id, name, value)
    if served.baseline_accuracy is not None:
        client.log_metric(run_id, "baseline_accuracy", served.baseline_accuracy)
    if served.baseline_f1_macro is not None:
        client.log_metric(run_id, "baseline_f1_macro", served.baseline_f1_macro)
    client.set_terminated(run_id, "FINISHED")
    return run_id


def score_batch(
    engine: Engine, client: MlflowClient, contract: DatasetContract, batch: Batch, model_name: str | None = None
) -> dict[str, Any] | None:
    """Score one fetch's clean rows with the production version; its model_quality row.

    None when there is nothing to score: no version holds @production yet, or
    the fetch added no clean rows (all duplicates or rejected). The caller says which.
    """
    create_tables(engine)
    served = production(client, model_name or contract.registered_model_name)
    if served is None:
        return None
    frame = batch_rows(engine, contract, batch)
    if frame.empty:
        return None
    key = batch_key(batch, frame["fingerprint"].tolist())
    existing = recorded(engine, contract.name, served, key)
    if existing:
        log.info("batch %s was scored by %s v%s already", key, served.name, served.version)
        return existing
    experiment = experiment_id(client, monitoring_experiment(contract.name))
    earlier = _earlier_run(client, experiment, served, key)
    if earlier is not None:  # an earlier try logged the run, then failed before the row
        run_id, metrics = earlier.info.run_id, {m: earlier.data.metrics[m] for m in ("accuracy", "f1_macro")}
    else:
        import mlflow.sklearn

        model = mlflow.sklearn.load_model(served.uri)
        scores = score(model, frame[contract.feature_names], frame[contract.target], contract.classes)
        metrics = {"accuracy": scores["accuracy"], "f1_macro": scores["f1_macro"]}
        run_id = log_run(client, contract, served, batch, key, metrics, len(frame))
    row = {
        "dataset": contract.name,
        "model_name": served.name,
        "model_version": served.version,
        "batch_key": key,
        "group_number": batch.group_number,
        "batch_number": batch.batch_number,
        "rows_scored": len(frame),
        "accuracy": metrics["accuracy"],
        "f1_macro": metrics["f1_macro"],
        "baseline_accuracy": served.baseline_accuracy,
        "baseline_f1_macro": served.baseline_f1_macro,
        "mlflow_run_id": run_id,
        "measured_at": utcnow().replace(microsecond=0),
    }
    with engine.begin() as conn:
        insert_ignoring_duplicates(conn, MODEL_QUALITY, [row])
    log.info(
        "%s v%s on %s (%d rows): accuracy %.4f (baseline %s), macro F1 %.4f",
        served.name,
        served.version,
        key,
        len(frame),
        metrics["accuracy"],
        served.baseline_accuracy,
        metrics["f1_macro"],
    )
    return recorded(engine, contract.name, served, key)
