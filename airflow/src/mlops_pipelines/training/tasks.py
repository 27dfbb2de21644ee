"""Bodies of the training DAG's tasks, runnable without Airflow (tests and bench call them).

prepare -> train_family (one task per family) -> register_best. Only the parent
run's ids and the snapshot's max row id pass through XCom: each task reads the
same snapshot itself and finds the other tasks' runs in MLflow, under the DAG
run's parent run.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import DatasetInput, InputTag, Param, Run

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.training import registry, tracking
from mlops_pipelines.training.candidates import fit_candidate
from mlops_pipelines.training.config import TrainingConfig
from mlops_pipelines.training.data import Snapshot, Split, mlflow_dataset, split
from mlops_pipelines.training.evaluation import confusion_matrix_figure
from mlops_pipelines.training.families import FAMILIES
from mlops_pipelines.training.grids import Candidate, candidates
from mlops_pipelines.training.pipelines import for_single_rows
from mlops_pipelines.training.selection import choose_best

log = logging.getLogger(__name__)


class AllCandidatesFailed(RuntimeError):
    """Every candidate of a family (or of the whole run) failed: nothing to register from it."""


def recorded_snapshot_id(config: TrainingConfig, dag_id: str, run_id: str) -> int | None:
    """The snapshot an earlier try of this DAG run fixed, so a retry trains on the same rows."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(config.experiment_name)
    run = experiment and tracking.find_parent_run(client, experiment.experiment_id, dag_id, run_id)
    value = run.data.params.get("data.snapshot_max_id") if run else None
    return int(value) if value not in (None, "None") else None


def prepare(contract: DatasetContract, snapshot: Snapshot, config: TrainingConfig, dag_id: str, run_id: str) -> dict[str, Any]:
    """Parent run for the DAG run, with its settings and the snapshot as dataset input.

    Raises SplitError before anything is logged when the snapshot cannot be split.
    """
    split(snapshot, config.test_size, config.random_state)
    client = MlflowClient()
    experiment = tracking.experiment_id(client, config.experiment_name)
    parent = tracking.parent_run(client, experiment, dag_id, run_id, contract.name).info.run_id
    params = {
        "test_size": config.test_size, "random_state": config.random_state,
        "selection_metric": config.selection_metric, "auto_promote": config.auto_promote,
        "promotion_margin": config.promotion_margin,
        "data.table": snapshot.source.table, "data.snapshot_max_id": snapshot.source.max_id,
        "data.rows": snapshot.rows, "data.digest": snapshot.digest,
        **{f"grid.{name}": json.dumps(grid) for name, grid in config.grids.items()},
    }
    client.log_batch(parent, params=[Param(k, str(v)) for k, v in params.items()])
    dataset = mlflow_dataset(snapshot)
    client.log_inputs(parent, [DatasetInput(dataset._to_mlflow_entity(), [InputTag("mlflow.data.context", "snapshot")])])
    return {
        "experiment_id": experiment, "parent_run_id": parent, "dag_id": dag_id, "run_id": run_id,
        "snapshot_max_id": snapshot.source.max_id, "rows": snapshot.rows, "digest": snapshot.digest,
    }


def _result(run: Run) -> dict[str, Any]:
    tags = run.data.tags
    return {
        "family": tags.get(tracking.TAG_FAMILY), "candidate": tags.get(tracking.TAG_CANDIDATE),
        "index": int(tags.get(tracking.TAG_INDEX, 0)), "run_id": run.info.run_id, "status": run.info.status,
        "model_id": tags.get(tracking.TAG_MODEL_ID), "metrics": dict(run.data.metrics),
        "params": dict(run.data.params), "error": tags.get(tracking.TAG_ERROR),
    }


def candidate_results(parent: dict[str, Any]) -> list[dict[str, Any]]:
    """Every candidate run of the DAG run, in training order (family, then grid position)."""
    order = list(FAMILIES)
    runs = tracking.candidate_runs(MlflowClient(), parent["experiment_id"], parent["parent_run_id"])
    results = [_result(r) for r in runs]
    return sorted(results, key=lambda r: (order.index(r["family"]) if r["family"] in order else len(order), r["index"]))


def split_datasets(snapshot: Snapshot, parts: Split) -> tuple:
    """The train and test parts as MLflow datasets (same source table, their own digests)."""
    return (mlflow_dataset(snapshot, parts.X_train.join(parts.y_train), "train"),
            mlflow_dataset(snapshot, parts.X_test.join(parts.y_test), "test"))


def train_candidate(contract: DatasetContract, candidate: Candidate, parts: Split, datasets: tuple,
                    config: TrainingConfig, parent: dict[str, Any]) -> dict[str, Any]:
    """Fit, score and log one candidate as a child run. Its own failure is recorded, not raised."""
    tags = {
        tracking.TAG_ROLE: "candidate", tracking.TAG_FAMILY: candidate.family,
        tracking.TAG_CANDIDATE: candidate.key, tracking.TAG_INDEX: str(candidate.index),
        tracking.TAG_DAG_ID: parent["dag_id"], tracking.TAG_RUN_ID: parent["run_id"],
        tracking.TAG_DATASET: contract.name,
    }
    run = mlflow.start_run(experiment_id=parent["experiment_id"], parent_run_id=parent["parent_run_id"],
                           run_name=candidate.key, tags=tags)
    try:
        train_ds, test_ds = datasets
        mlflow.log_params({"family": candidate.family, **candidate.params,
                           "random_state": config.random_state, "test_size": config.test_size})
        mlflow.log_input(train_ds, context="train")
        mlflow.log_input(test_ds, context="test")
        try:
            outcome = fit_candidate(contract, candidate, parts, config.random_state)
            if not outcome.ok:
                raise outcome.error
            mlflow.log_figure(
                confusion_matrix_figure(parts.y_test, outcome.predictions, contract.classes, contract.class_names,
                                        f"{contract.name} {candidate.key}"),
                tracking.CONFUSION_MATRIX_FILE,
            )
            model_id = tracking.log_model(for_single_rows(outcome.model), contract, parts.X_train, candidate.family, candidate.params)
            # Metrics linked to the logged model and the test set, so the MLflow
            # UI can compare models, not only runs.
            mlflow.log_metrics(outcome.metrics, model_id=model_id, dataset=test_ds)
            mlflow.set_tag(tracking.TAG_MODEL_ID, model_id)
        except Exception as exc:
            log.error("candidate %s failed: %s: %s", candidate.key, type(exc).__name__, exc)
            mlflow.set_tag(tracking.TAG_ERROR, f"{type(exc).__name__}: {exc}"[:4000])
            mlflow.end_run("FAILED")
        else:
            mlflow.end_run("FINISHED")
    finally:
        if mlflow.active_run() is not None:  # an MLflow error above: leave no run open
            mlflow.end_run("FAILED")
    return _result(MlflowClient().get_run(run.info.run_id))


def train_family(contract: DatasetContract, family: str, snapshot: Snapshot, config: TrainingConfig,
                 parent: dict[str, Any]) -> dict[str, Any]:
    """Every candidate of one family's grid; candidates a previous try finished are kept, not refit."""
    done = {
        r["candidate"]: r for r in candidate_results(parent)
        if r["family"] == family and r["status"] == "FINISHED" and r["model_id"]
    }
    parts = split(snapshot, config.test_size, config.random_state)
    datasets = split_datasets(snapshot, parts)
    results = []
    for candidate in candidates(family, config.grids[family]):
        result = done.get(candidate.key) or train_candidate(contract, candidate, parts, datasets, config, parent)
        log.info("%s: %s %s", candidate.key, result["status"], {k: round(v, 4) for k, v in result["metrics"].items()})
        results.append(result)
    failed = [r["candidate"] for r in results if r["status"] != "FINISHED"]
    if len(failed) == len(results):
        raise AllCandidatesFailed(f"every {family} candidate failed: {failed}; see their runs' {tracking.TAG_ERROR} tag")
    return {"family": family, "finished": len(results) - len(failed), "failed": failed, "results": results}


def register_best(contract: DatasetContract, snapshot: Snapshot, config: TrainingConfig,
                  parent: dict[str, Any]) -> dict[str, Any]:
    """Register the best candidate of the DAG run, then apply the promotion rule; closes the parent run."""
    client = MlflowClient()
    parent_id, metric = parent["parent_run_id"], config.selection_metric
    results = candidate_results(parent)
    best = choose_best(results, metric)
    if best is None:
        client.set_terminated(parent_id, "FAILED")
        raise AllCandidatesFailed(f"no candidate of run {parent['run_id']} finished: nothing to register")
    value = best["metrics"][metric]
    version = registry.register(client, config.model_name, best["model_id"], best["run_id"], {
        "selection_metric": metric, metric: f"{value:.6f}",
        "data.digest": snapshot.digest, "data.rows": snapshot.rows, "data.table": snapshot.source.table,
        tracking.TAG_DAG_ID: parent["dag_id"], tracking.TAG_RUN_ID: parent["run_id"],
        tracking.TAG_FAMILY: best["family"], tracking.TAG_CANDIDATE: best["candidate"],
    })
    decision = registry.recorded_decision(version, metric) or registry.decide(
        client, config.model_name, version, split(snapshot, config.test_size, config.random_state),
        metric, config.auto_promote, config.promotion_margin, contract.classes)
    registry.apply(client, config.model_name, version, decision)
    _record_on_parent(client, parent_id, best, version.version, decision)
    client.set_terminated(parent_id, "FINISHED")
    return {
        "model_name": config.model_name, "version": version.version, "best": best,
        "promoted": decision.promote, "decision": decision.as_dict(),
        "finished": sum(r["status"] == "FINISHED" for r in results), "failed": [r["candidate"] for r in results if r["status"] != "FINISHED"],
    }


def _record_on_parent(client: MlflowClient, parent_id: str, best: dict[str, Any], version: str, decision) -> None:
    client.set_tag(parent_id, "best.run_id", best["run_id"])
    client.set_tag(parent_id, "best.candidate", best["candidate"])
    client.set_tag(parent_id, "registered.version", version)
    client.set_tag(parent_id, "promotion.decision", "promoted" if decision.promote else "not_promoted")
    client.set_tag(parent_id, "promotion.reason", decision.reason[:4000])
    for key, value in best["metrics"].items():
        client.log_metric(parent_id, f"best.{key}", value)
    for key in ("new_score", "production_score"):
        if getattr(decision, key) is not None:
            client.log_metric(parent_id, f"promotion.{key}", getattr(decision, key))
    client.log_dict(parent_id, decision.as_dict() | {"version": version}, "promotion.json")
