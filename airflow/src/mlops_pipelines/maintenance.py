"""Retention: what the daily platform_maintenance DAG deletes, runnable without Airflow.

- Registry: per registered model, the oldest versions beyond REGISTRY_KEEP_VERSIONS
  that hold no alias (a version with any alias, e.g. @production, is never deleted).
- Training runs older than RUNS_KEEP_DAYS whose model is not registered, with
  their logged models: MLflow's own soft delete. Their artifacts leave MinIO
  when `mlflow gc` runs in the mlflow container (README: "Retention"), which
  alone holds the MLflow database password.
- The prediction log (prediction_requests, a row per request) and
  shadow_predictions: rows older than PREDICTIONS_KEEP_DAYS, in small chunks,
  each its own transaction, so inserts go on meanwhile.
- Airflow's task log files older than AIRFLOW_LOGS_KEEP_DAYS (its metadata
  rows: `airflow db clean`, run by the DAG).

Every deletion is logged (names, versions, run ids, counts).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlflow.entities import Run, ViewType
from mlflow.exceptions import MlflowException
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from mlflow import MlflowClient
from mlops_pipelines.mlflow_helpers import quote
from mlops_pipelines.mlflow_names import ROLE_CANDIDATE, ROLE_PARENT, TAG_DAG_ID, TAG_MODEL_ID, TAG_PARENT, TAG_ROLE
from mlops_pipelines.tables import PREDICTION_REQUESTS, SHADOW_PREDICTIONS

log = logging.getLogger(__name__)

PREDICTIONS_TABLE = PREDICTION_REQUESTS.name
# The served predictions' tables, kept for the same window: production's, and the challenger's
# scored in shadow on them (inference.shadow), each row of which names one of production's.
PREDICTION_TABLES = (PREDICTIONS_TABLE, SHADOW_PREDICTIONS.name)
# Runs the training DAGs make; other runs in the server (people's own) are left alone.
TRAINING_ROLES = (ROLE_PARENT, ROLE_CANDIDATE)


def _denied(exc: MlflowException) -> bool:
    # A model or run another MLflow user owns: not ours to delete (logged, skipped).
    return exc.error_code in ("PERMISSION_DENIED", "RESOURCE_DOES_NOT_EXIST")


def _paged(search, **kwargs) -> Iterator[Any]:
    token = None
    while True:
        page = search(page_token=token, **kwargs)
        yield from page
        token = page.token
        if not token:
            return


def prune_registry(client: MlflowClient, keep: int, names: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Delete, per registered model (every one, or those in `names`), the oldest versions beyond `keep` that hold no alias.

    Versions with an alias count towards `keep` and are never deleted, so a
    model may keep more than `keep` versions when many hold aliases.
    Returns {model name: [deleted versions]}.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    deleted: dict[str, list[str]] = {}
    models = list(names) if names is not None else [m.name for m in _paged(client.search_registered_models, max_results=100)]
    for name in models:
        model = client.get_registered_model(name)
        aliased = {str(v) for v in model.aliases.values()}
        versions = sorted(
            (str(v.version) for v in _paged(client.search_model_versions, filter_string=f"name = {quote(model.name)}", max_results=1000)),
            key=int,
        )
        excess = len(versions) - keep
        for version in versions:  # oldest first
            if excess <= 0:
                break
            if version in aliased:
                continue
            try:
                client.delete_model_version(model.name, version)
            except MlflowException as exc:
                if not _denied(exc):
                    raise
                log.warning("registry: %s version %s not deleted: %s", model.name, version, exc)
                continue
            deleted.setdefault(model.name, []).append(version)
            excess -= 1
        if model.name in deleted:
            log.info(
                "registry: %s: deleted versions %s (kept %d of %d; aliases on %s)",
                model.name,
                ", ".join(deleted[model.name]),
                len(versions) - len(deleted[model.name]),
                len(versions),
                ", ".join(sorted(aliased, key=int)) or "none",
            )
    if not deleted:
        log.info("registry: nothing to delete (at most %d versions per model, or only aliased ones beyond)", keep)
    return deleted


def _registered(client: MlflowClient) -> tuple[set[str], set[str]]:
    """Run ids and logged model ids that some registered version comes from."""
    runs, models = set(), set()
    for version in _paged(client.search_model_versions, max_results=1000):
        if version.run_id:
            runs.add(version.run_id)
        model_id = getattr(version, "model_id", None) or (version.source or "").removeprefix("models:/")
        if model_id:
            models.add(model_id)
    return runs, models


def stale_training_runs(
    client: MlflowClient, keep_days: float, now: datetime | None = None, experiment_ids: Iterable[str] | None = None
) -> list[Run]:
    """Training runs (parents and candidates) started more than `keep_days` ago, ended, whose model is not registered.

    A parent run stays while any of its candidates' models is registered: it
    holds the DAG run's settings, snapshot and promotion decision.
    """
    cutoff = int(((now or datetime.now(UTC)) - timedelta(days=keep_days)).timestamp() * 1000)
    experiments = (
        list(experiment_ids)
        if experiment_ids is not None
        else [e.experiment_id for e in _paged(client.search_experiments, max_results=1000)]
    )
    if not experiments:
        return []
    registered_runs, _ = _registered(client)
    runs = list(
        _paged(
            client.search_runs,
            experiment_ids=experiments,
            filter_string=f"attributes.start_time < {cutoff}",
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=1000,
        )
    )
    parents_to_keep = {r.data.tags.get(TAG_PARENT) for r in runs if r.info.run_id in registered_runs}
    # A registered candidate may be younger than the cut-off while its parent is older.
    for run_id in registered_runs:
        try:
            parents_to_keep.add(client.get_run(run_id).data.tags.get(TAG_PARENT))
        except MlflowException as exc:
            if not _denied(exc):
                raise
    stale = []
    for run in runs:
        role = run.data.tags.get(TAG_ROLE)
        if role not in TRAINING_ROLES or run.info.status == "RUNNING" or run.info.run_id in registered_runs:
            continue
        if role == ROLE_PARENT and run.info.run_id in parents_to_keep:
            continue
        stale.append(run)
    return stale


def prune_runs(
    client: MlflowClient, keep_days: float, now: datetime | None = None, experiment_ids: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """Soft-delete the stale training runs (of every experiment, or of `experiment_ids`) and the logged models they made.

    See stale_training_runs for which runs.

    Returns {"runs": [...], "logged_models": [...]}. `mlflow gc` then removes
    their rows and artifacts for good.
    """
    _, registered_models = _registered(client)
    deleted: dict[str, list[str]] = {"runs": [], "logged_models": []}
    for run in stale_training_runs(client, keep_days, now, experiment_ids):
        run_id = run.info.run_id
        model_id = run.data.tags.get(TAG_MODEL_ID)
        try:
            if model_id and model_id not in registered_models:
                client.delete_logged_model(model_id)
                deleted["logged_models"].append(model_id)
            client.delete_run(run_id)
        except MlflowException as exc:
            if not _denied(exc):
                raise
            log.warning("runs: %s not deleted: %s", run_id, exc)
            continue
        deleted["runs"].append(run_id)
        started = datetime.fromtimestamp(run.info.start_time / 1000, UTC).isoformat(timespec="seconds")
        log.info(
            "runs: deleted %s run %s (%s, %s, started %s)%s",
            run.data.tags.get(TAG_ROLE),
            run_id,
            run.info.run_name,
            run.data.tags.get(TAG_DAG_ID, "?"),
            started,
            f" and its logged model {model_id}" if model_id and model_id in deleted["logged_models"] else "",
        )
    log.info(
        "runs: deleted %d training runs and %d logged models older than %s days, not registered",
        len(deleted["runs"]),
        len(deleted["logged_models"]),
        keep_days,
    )
    return deleted


def prune_predictions(
    engine: Engine, keep_days: float, chunk: int = 5000, now: datetime | None = None, table: str = PREDICTIONS_TABLE
) -> int:
    """Delete rows of a predictions table (`table`, one of PREDICTION_TABLES) older than `keep_days`, `chunk` rows per transaction.

    Oldest first by id (the primary key: old rows are the low ids, so each
    chunk is found without a scan), so the lock each DELETE takes is small and
    short and the service's inserts go on. No table yet: nothing to do.
    """
    if not inspect(engine).has_table(table):
        log.info("%s: no such table in this database yet, nothing to delete", table)
        return 0
    # predicted_at is stored in UTC without a zone.
    cutoff = ((now or datetime.now(UTC)) - timedelta(days=keep_days)).astimezone(UTC).replace(tzinfo=None)
    statement = text(f"DELETE FROM {table} WHERE predicted_at < :cutoff ORDER BY id LIMIT :chunk")
    total, chunks = 0, 0
    while True:
        with engine.begin() as conn:
            count = conn.execute(statement, {"cutoff": cutoff, "chunk": chunk}).rowcount
        total += count
        chunks += 1
        if count < chunk:
            break
    log.info("%s: deleted %d rows older than %s (%s days) in %d chunks of at most %d", table, total, cutoff, keep_days, chunks, chunk)
    return total


def prune_log_files(folder: str | os.PathLike[str], keep_days: float, now: float | None = None) -> list[str]:
    """Delete files under Airflow's log folder not modified for `keep_days`, then the folders left empty.

    What the official Airflow image's `clean-logs` (the Helm chart's log
    groomer) does; this image is not built from it. Returns the deleted paths.
    """
    root = Path(folder)
    if not root.is_dir():
        log.info("logs: no log folder at %s", root)
        return []
    cutoff = (now or time.time()) - keep_days * 86400
    deleted = []
    for path in sorted(root.rglob("*")):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                deleted.append(str(path))
        except FileNotFoundError:  # written or rotated meanwhile
            continue
    for path in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty (or gone): kept
            path.rmdir()  # what the log groomer's `find -type d -empty -delete` does
    log.info("logs: deleted %d task log files older than %s days under %s", len(deleted), keep_days, root)
    return deleted
