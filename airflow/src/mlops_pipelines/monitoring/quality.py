"""Live accuracy: each ingested Covertype batch scored by the production version (and the challenger) before anything trains on it.

The batch is the clean rows of one data_api fetch (raw rows of this group,
batch and fetch time). The production version is loaded from the registry as
inference loads it, scored on the labels of the rows that neither it nor the
challenger trained on (the others are counted, not scored), and the result is

- an MLflow run in `<dataset>-monitoring` (tags: model name, version, batch, group),
- a row of `model_quality`, with the version's own test scores as its baseline,
- with a challenger, its run beside it (kind `challenger_accuracy`) and the
  pair's rows and comparison (monitoring.challenger).

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
from mlops_pipelines.comparison import ComparisonPolicy
from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.mlflow_helpers import experiment_id, quote
from mlops_pipelines.mlflow_names import (
    TAG_MONITOR_BATCH,
    TAG_MONITOR_BATCH_NUMBER,
    TAG_MONITOR_DATASET,
    TAG_MONITOR_GROUP,
    TAG_MONITOR_KIND,
    TAG_MONITOR_MODEL,
    TAG_MONITOR_PRODUCTION_VERSION,
    TAG_MONITOR_VERSION,
    monitoring_experiment,
)
from mlops_pipelines.monitoring import challenger as challenger_store
from mlops_pipelines.monitoring.served import ServedVersion, challenger, production
from mlops_pipelines.monitoring.store import insert_ignoring_duplicates
from mlops_pipelines.scoring import score, typed
from mlops_pipelines.splitting import unseen_by
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
    """The clean rows (id, fingerprint, features, target) of one fetch, contract-typed, in id order."""
    raw, clean = RAW[contract.name], CLEAN[contract.name]
    columns = [clean.c.id, clean.c.fingerprint, *(clean.c[name] for name in (*contract.feature_names, contract.target))]
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
    return pd.concat([frame[["id", "fingerprint"]].reset_index(drop=True), typed(frame, contract)], axis=1)


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
    client: MlflowClient,
    contract: DatasetContract,
    served: ServedVersion,
    batch: Batch,
    key: str,
    metrics: dict[str, float],
    rows: int,
    excluded: int = 0,
    kind: str = "live_accuracy",
    tags: dict[str, str] | None = None,
) -> str:
    run_id = create_monitoring_run(
        client,
        contract,
        served,
        kind,
        f"{served.name} v{served.version} {key}",
        {
            TAG_MONITOR_BATCH: key,
            TAG_MONITOR_BATCH_NUMBER: str(batch.batch_number),
            TAG_MONITOR_GROUP: str(batch.group_number),
            **(tags or {}),
        },
    )
    client.log_param(run_id, "rows_scored", rows)
    client.log_param(run_id, "rows_excluded", excluded)  # rows of the batch the scored version(s) trained on
    for name, value in metrics.items():
        client.log_metric(run_id, name, value)
    if served.baseline_accuracy is not None:
        client.log_metric(run_id, "baseline_accuracy", served.baseline_accuracy)
    if served.baseline_f1_macro is not None:
        client.log_metric(run_id, "baseline_f1_macro", served.baseline_f1_macro)
    client.set_terminated(run_id, "FINISHED")
    return run_id


def score_batch(
    engine: Engine,
    client: MlflowClient,
    contract: DatasetContract,
    batch: Batch,
    model_name: str | None = None,
    policy: ComparisonPolicy | None = None,
) -> dict[str, Any] | None:
    """Score one fetch's clean rows with the production version (and the challenger, if any); production's model_quality row.

    Only rows neither version trained on are scored; the others are left out
    and counted (`rows_excluded` on the runs, in challenger_batches, and in the
    log). With a challenger both are scored on the same rows, stored as a pair
    and compared (monitoring.challenger).

    None when there is nothing to score: no version holds @production yet, the
    fetch added no clean rows (all duplicates or rejected), or every row was
    trained on. The caller says which.
    """
    create_tables(engine)
    name = model_name or contract.registered_model_name
    served = production(client, name)
    if served is None:
        return None
    frame = batch_rows(engine, contract, batch)
    if frame.empty:
        return None
    key = batch_key(batch, frame["fingerprint"].tolist())
    rival = challenger(client, name)
    versions = [v for v in (served, rival) if v is not None]
    if any(v.trained_on is None for v in versions):
        log.warning("the training rows of %s are unknown: every row of %s is scored", name, key)
    unseen = unseen_by(frame["id"], frame["fingerprint"], [v.trained_on for v in versions if v.trained_on is not None])
    excluded = int((~unseen).sum())
    frame = frame[unseen].reset_index(drop=True)
    if excluded:
        log.info("%s: %d of its rows were trained on by %s and are left out", key, excluded, " or ".join(f"v{v.version}" for v in versions))
    if frame.empty:
        return None
    X, y = frame[contract.feature_names], frame[contract.target]
    models: dict[str, Any] = {}
    metrics, run_id = _scored(client, contract, served, batch, key, X, y, excluded, models)
    if rival is not None:
        _score_challenger(engine, client, contract, served, rival, batch, key, frame, excluded, models, policy or ComparisonPolicy())
    existing = recorded(engine, contract.name, served, key)
    if existing:
        log.info("batch %s was scored by %s v%s already", key, served.name, served.version)
        return existing
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
        "%s v%s on %s (%d rows, %d left out): accuracy %.4f (baseline %s), macro F1 %.4f",
        served.name,
        served.version,
        key,
        len(frame),
        excluded,
        metrics["accuracy"],
        served.baseline_accuracy,
        metrics["f1_macro"],
    )
    return recorded(engine, contract.name, served, key)


def _model(served: ServedVersion, models: dict[str, Any]):
    if served.uri not in models:
        import mlflow.sklearn

        models[served.uri] = mlflow.sklearn.load_model(served.uri)
    return models[served.uri]


def _scored(
    client: MlflowClient,
    contract: DatasetContract,
    served: ServedVersion,
    batch: Batch,
    key: str,
    X: pd.DataFrame,
    y: pd.Series,
    excluded: int,
    models: dict[str, Any],
    kind: str = "live_accuracy",
    tags: dict[str, str] | None = None,
) -> tuple[dict[str, float], str]:
    """The version's accuracy and macro F1 on the rows, logged once as a monitoring run (found again on a retry)."""
    experiment = experiment_id(client, monitoring_experiment(contract.name))
    earlier = _earlier_run(client, experiment, served, key)
    if earlier is not None:  # an earlier try logged the run
        return {m: earlier.data.metrics[m] for m in ("accuracy", "f1_macro")}, earlier.info.run_id
    scores = score(_model(served, models), X, y, contract.classes)
    metrics = {"accuracy": scores["accuracy"], "f1_macro": scores["f1_macro"]}
    return metrics, log_run(client, contract, served, batch, key, metrics, len(X), excluded, kind, tags)


def _score_challenger(
    engine: Engine,
    client: MlflowClient,
    contract: DatasetContract,
    served: ServedVersion,
    rival: ServedVersion,
    batch: Batch,
    key: str,
    frame: pd.DataFrame,
    excluded: int,
    models: dict[str, Any],
    policy: ComparisonPolicy,
) -> None:
    """Both versions' predictions of the same rows, stored as a pair; the pair's comparison updated.

    Not once the comparison holds `max_rows` rows: its recommendation is final then.
    """
    if challenger_store.rows_compared(engine, served.name, served.version, rival.version) >= policy.max_rows:
        log.info(
            "%s v%s vs v%s: %d rows compared already, the recommendation stands",
            served.name,
            rival.version,
            served.version,
            policy.max_rows,
        )
        return
    X, y = frame[contract.feature_names], frame[contract.target]
    tags = {TAG_MONITOR_PRODUCTION_VERSION: served.version}
    _, run_id = _scored(client, contract, rival, batch, key, X, y, excluded, models, "challenger_accuracy", tags)
    p, c = _model(served, models).predict(X), _model(rival, models).predict(X)
    pair = {"dataset": contract.name, "model_name": served.name, "production_version": served.version, "challenger_version": rival.version}
    scores = challenger_store.batch_scores(key, batch, excluded, y, p, c, run_id)
    challenger_store.store_batch(engine, pair, scores, frame["id"].tolist(), y, p, c)
    challenger_store.update_comparison(engine, client, contract.name, served.name, served.version, rival.version, policy)
