"""Bodies of the training DAG's tasks, runnable without Airflow (tests and bench call them).

prepare -> list_candidates -> train_candidate (one mapped task per candidate)
-> refit_best -> register_best. Only the parent run's ids, the snapshot's max
row id and the candidate list pass through XCom: each task reads the same
snapshot itself and finds the other tasks' runs in MLflow, under the DAG run's
parent run.

Where the final model lives: on the chosen candidate's own child run. Its CV
scores are already there; refit_best adds the model refit on the whole training
split, its test-split scores (`test_*`) and the confusion matrix, and tags it
`training.refit`. So the registered version's run carries both its CV and its
test scores, and no other run has test scores. The choice is recorded on the
parent run (`best.run_id`) before the refit, so a retried refit refits the same
candidate.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from mlflow.entities import DatasetInput, InputTag, Param, Run
from sqlalchemy.engine import Engine

import mlflow
from mlflow import MlflowClient
from mlops_pipelines import mlflow_names as names
from mlops_pipelines.comparison import ComparisonPolicy
from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.mlflow_helpers import experiment_id, latest_version
from mlops_pipelines.monitoring import challenger
from mlops_pipelines.splitting import SplitRule
from mlops_pipelines.training import faults, fingerprint, registry, tracking
from mlops_pipelines.training.candidates import cross_validate_candidate, refit_and_test
from mlops_pipelines.training.config import TrainingConfig
from mlops_pipelines.training.data import Snapshot, mlflow_dataset, split
from mlops_pipelines.training.evaluation import confusion_matrix_figure
from mlops_pipelines.training.families import FAMILIES, REFIT_N_JOBS
from mlops_pipelines.training.grids import Candidate
from mlops_pipelines.training.pipelines import for_single_rows
from mlops_pipelines.training.selection import choose_best

log = logging.getLogger(__name__)


class AllCandidatesFailed(RuntimeError):
    """No candidate of the DAG run finished: nothing to register."""


def recorded_snapshot_id(config: TrainingConfig, dag_id: str, run_id: str) -> int | None:
    """The snapshot an earlier try of this DAG run fixed, so a retry trains on the same rows."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(config.experiment_name)
    run = experiment and tracking.find_parent_run(client, experiment.experiment_id, dag_id, run_id)
    value = run.data.params.get(names.DATA_SNAPSHOT_MAX_ID) if run else None
    return int(value) if value not in (None, "None") else None


def prepare(
    contract: DatasetContract,
    snapshot: Snapshot,
    config: TrainingConfig,
    dag_id: str,
    run_id: str,
    reason: str | None = None,
    trigger_events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Parent run for the DAG run, with its settings and the snapshot as dataset input.

    `reason` (why the run trains: the monitor's reason, or manual) is tagged on
    the parent run, the triggering events' extras saved beside it.

    Raises SplitError before anything is logged when the snapshot cannot be split.
    """
    split(snapshot, config.test_size, config.random_state)
    client = MlflowClient()
    experiment = experiment_id(client, config.experiment_name)
    reason_tags = {names.TAG_RETRAIN_REASON: reason[:250]} if reason else {}
    parent = tracking.parent_run(client, experiment, dag_id, run_id, contract.name, reason_tags).info.run_id
    if reason:  # a parent an earlier try created
        client.set_tag(parent, names.TAG_RETRAIN_REASON, reason[:250])
    if trigger_events:
        client.log_dict(parent, {"reason": reason, "events": trigger_events}, names.RETRAIN_TRIGGER_FILE)
    params = {
        "test_size": config.test_size,
        "random_state": config.random_state,
        "cv_folds": config.cv_folds,
        "selection_metric": config.selection_metric,
        "auto_promote": config.auto_promote,
        "engineered_features": config.engineered_features,
        names.DATA_TABLE: snapshot.source.table,
        names.DATA_SNAPSHOT_MAX_ID: snapshot.source.max_id,
        names.DATA_ROWS: snapshot.rows,
        names.DATA_DIGEST: snapshot.digest,
        **{f"grid.{name}": json.dumps(grid) for name, grid in config.grids.items()},
    }
    client.log_batch(parent, params=[Param(k, str(v)) for k, v in params.items()])
    dataset = mlflow_dataset(snapshot)
    client.log_inputs(parent, [DatasetInput(dataset._to_mlflow_entity(), [InputTag("mlflow.data.context", "snapshot")])])
    return {
        "experiment_id": experiment,
        "parent_run_id": parent,
        "dag_id": dag_id,
        "run_id": run_id,
        "snapshot_max_id": snapshot.source.max_id,
        "rows": snapshot.rows,
        "digest": snapshot.digest,
    }


def list_candidates(config: TrainingConfig) -> list[dict[str, Any]]:
    """Every candidate of the run as the mapped task's input, in training order."""
    return [c.as_dict() for c in config.candidates()]


def _result(run: Run) -> dict[str, Any]:
    tags = run.data.tags
    return {
        "family": tags.get(names.TAG_FAMILY),
        "candidate": tags.get(names.TAG_CANDIDATE),
        "index": int(tags.get(names.TAG_INDEX, 0)),
        "run_id": run.info.run_id,
        "status": run.info.status,
        "model_id": tags.get(names.TAG_MODEL_ID),
        "metrics": dict(run.data.metrics),
        "params": dict(run.data.params),
        "error": tags.get(names.TAG_ERROR),
        "error_kind": tags.get(names.TAG_ERROR_KIND),
    }


# Which of several runs of one candidate (a task retried or cleared) stands for it.
_STATUS_RANK = {"FINISHED": 0, "FAILED": 1}


def candidate_results(parent: dict[str, Any]) -> list[dict[str, Any]]:
    """One result per candidate of the DAG run, in training order (family, then grid position).

    A candidate tried more than once is represented by its finished run, else
    its latest failed one, else its latest run (KILLED: a try that died).
    """
    order = list(FAMILIES)
    runs = tracking.candidate_runs(MlflowClient(), parent["experiment_id"], parent["parent_run_id"])
    chosen: dict[str, Run] = {}
    for run in sorted(runs, key=lambda r: r.info.start_time):  # later runs replace earlier ones of equal rank
        key = run.data.tags.get(names.TAG_CANDIDATE, "")
        current = chosen.get(key)
        if current is None or _STATUS_RANK.get(run.info.status, 2) <= _STATUS_RANK.get(current.info.status, 2):
            chosen[key] = run
    results = [_result(r) for r in chosen.values()]
    return sorted(results, key=lambda r: (order.index(r["family"]) if r["family"] in order else len(order), r["index"]))


def train_candidate(
    contract: DatasetContract, candidate: Candidate, snapshot: Snapshot, config: TrainingConfig, parent: dict[str, Any]
) -> dict[str, Any]:
    """Cross-validate one candidate on the training split as a child run (the body of one mapped task).

    The candidate's own failure (a fold that does not fit) is a FAILED run with
    the reason in its `training.error` tag (`training.error_kind` = model), and
    the task succeeds: a retry would fail the same way. A failure of MLflow or
    its stores raises, so Airflow retries the task; the run is ended FAILED
    (kind infrastructure) when MLflow still answers. The retry keeps a
    finished run of this candidate, and otherwise resumes the run an earlier
    try left (RUNNING, KILLED or FAILED by the infrastructure), so each
    candidate has one run whatever the number of tries.
    """
    client = MlflowClient()
    earlier = [
        r
        for r in tracking.candidate_runs(client, parent["experiment_id"], parent["parent_run_id"])
        if r.data.tags.get(names.TAG_CANDIDATE) == candidate.key
    ]
    final = [r for r in earlier if _is_final(r)]
    if final:
        log.info("%s: kept the %s run %s an earlier try ended", candidate.key, final[0].info.status, final[0].info.run_id)
        return _result(final[0])
    # The latest unfinished run is resumed; older leftovers (from before runs were resumed) are closed.
    earlier.sort(key=lambda r: r.info.start_time)
    resumed = earlier[-1] if earlier else None
    for run in earlier[:-1]:
        if run.info.status == "RUNNING":
            client.set_terminated(run.info.run_id, "KILLED")

    parts = split(snapshot, config.test_size, config.random_state)
    train_ds = mlflow_dataset(snapshot, parts.X_train.join(parts.y_train), "train")
    tags = {
        names.TAG_ROLE: names.ROLE_CANDIDATE,
        names.TAG_FAMILY: candidate.family,
        names.TAG_CANDIDATE: candidate.key,
        names.TAG_INDEX: str(candidate.index),
        names.TAG_DAG_ID: parent["dag_id"],
        names.TAG_RUN_ID: parent["run_id"],
        names.TAG_DATASET: contract.name,
    }
    if resumed is not None:
        log.info("%s: resuming run %s (%s after an earlier try)", candidate.key, resumed.info.run_id, resumed.info.status)
        for key in (names.TAG_ERROR, names.TAG_ERROR_KIND):
            if key in resumed.data.tags:
                client.delete_tag(resumed.info.run_id, key)
        run = mlflow.start_run(run_id=resumed.info.run_id)
    else:
        run = mlflow.start_run(
            experiment_id=parent["experiment_id"], parent_run_id=parent["parent_run_id"], run_name=candidate.key, tags=tags
        )
    try:
        if resumed is not None:  # a try that died early may have left the run without them
            mlflow.set_tags(tags)
        # engineered_features on every run, so MLflow's compare view shows its effect on the CV scores.
        mlflow.log_params(
            {
                "family": candidate.family,
                **candidate.params,
                "random_state": config.random_state,
                "test_size": config.test_size,
                "cv_folds": config.cv_folds,
                "engineered_features": config.engineered_features,
            }
        )
        mlflow.log_input(train_ds, context="train")
        outcome = cross_validate_candidate(
            contract, candidate, parts.X_train, parts.y_train, config.cv_folds, config.random_state, config.engineered_features
        )
        if outcome.ok:
            mlflow.log_metrics(outcome.metrics, dataset=train_ds)
            mlflow.end_run("FINISHED")
        else:
            error = outcome.error
            assert error is not None  # not ok
            log.error("candidate %s failed on the data: %s: %s", candidate.key, type(error).__name__, error)
            mlflow.set_tags({names.TAG_ERROR: faults.describe(error), names.TAG_ERROR_KIND: faults.MODEL})
            mlflow.end_run("FAILED")
    except Exception as exc:
        kind = faults.INFRASTRUCTURE if faults.is_infrastructure_error(exc) else "unexpected"
        log.error("candidate %s could not be trained or logged (%s failure, the task fails and retries): %s", candidate.key, kind, exc)
        _end_failed(client, run.info.run_id, exc, kind)
        raise
    return _result(client.get_run(run.info.run_id))


def _is_final(run: Run) -> bool:
    """A run that a retry keeps as it is: finished, or failed by the candidate itself."""
    if run.info.status == "FINISHED":
        return True
    return run.info.status == "FAILED" and run.data.tags.get(names.TAG_ERROR_KIND) == faults.MODEL


def _end_failed(client: MlflowClient, run_id: str, exc: Exception, kind: str) -> None:
    """End the run FAILED with the reason, if MLflow answers; else the retry resumes it as it is."""
    with contextlib.suppress(Exception):
        mlflow.end_run("FAILED")  # pops the active run before it calls the server, so this process can go on
    try:
        client.set_tag(run_id, names.TAG_ERROR, faults.describe(exc))
        client.set_tag(run_id, names.TAG_ERROR_KIND, kind)
        client.set_terminated(run_id, "FAILED")
    except Exception as record_error:  # the same outage: the retry finds the run RUNNING and resumes it
        log.warning("could not record the failure on run %s: %s", run_id, record_error)


def _reasons(results: list[dict[str, Any]]) -> str:
    return "; ".join(f"{r['candidate']}: {r['error'] or r['status']}" for r in results) or "no candidate ran"


def chosen_candidate(client: MlflowClient, config: TrainingConfig, parent: dict[str, Any]) -> dict[str, Any]:
    """The candidate with the best CV score; the choice an earlier try recorded, if any.

    Raises AllCandidatesFailed (listing every candidate's reason) and fails the
    parent run when no candidate finished.
    """
    results = candidate_results(parent)
    recorded = client.get_run(parent["parent_run_id"]).data.tags.get(names.TAG_BEST_RUN)
    best: Mapping[str, Any] | None = next((r for r in results if r["run_id"] == recorded), None) if recorded else None
    if best is None:
        best = choose_best(results, config.selection_metric)
    if best is None:
        client.set_terminated(parent["parent_run_id"], "FAILED")
        raise AllCandidatesFailed(f"no candidate of run {parent['run_id']} finished, nothing to register: {_reasons(results)}")
    if recorded != best["run_id"]:
        client.set_tag(parent["parent_run_id"], names.TAG_BEST_RUN, best["run_id"])
        client.set_tag(parent["parent_run_id"], names.TAG_BEST_CANDIDATE, best["candidate"])
    return dict(best)


def refit_best(contract: DatasetContract, snapshot: Snapshot, config: TrainingConfig, parent: dict[str, Any]) -> dict[str, Any]:
    """Refit the chosen candidate on the whole training split, score it once on the test split, log the model.

    All on the chosen candidate's run (see the module docstring). A retry after
    the model was logged does nothing again.
    """
    client = MlflowClient()
    best = chosen_candidate(client, config, parent)
    if best["model_id"] and names.test_metric(config.selection_metric) in best["metrics"]:
        return best
    candidate = Candidate(best["family"], best["index"], _grid_params(config, best))
    parts = split(snapshot, config.test_size, config.random_state)
    test_ds = mlflow_dataset(snapshot, parts.X_test.join(parts.y_test), "test")
    mlflow.start_run(run_id=best["run_id"])  # resumes the candidate's run
    try:
        outcome = refit_and_test(contract, candidate, parts, config.random_state, config.engineered_features, REFIT_N_JOBS)
        mlflow.log_input(test_ds, context="test")
        mlflow.log_figure(
            confusion_matrix_figure(
                parts.y_test, outcome.predictions, contract.classes, contract.class_names, f"{contract.name} {candidate.key} (test split)"
            ),
            names.CONFUSION_MATRIX_FILE,
        )
        model_id = tracking.log_model(for_single_rows(outcome.model), contract, parts.X_train, candidate.family, candidate.params)
        mlflow.set_tags({names.TAG_MODEL_ID: model_id, names.TAG_REFIT: "true"})
        # Linked to the logged model and the test set, so the MLflow UI can compare models, not only runs.
        mlflow.log_metrics(outcome.metrics, model_id=model_id, dataset=test_ds)
        # How many rows those scores rest on: read beside them (the UI's Model tab says it).
        mlflow.log_metric(names.TEST_ROWS, len(parts.y_test), model_id=model_id)
    finally:
        # The CV result stands whatever happened to the refit: a retry finds the run as it was.
        mlflow.end_run("FINISHED")
    return _result(client.get_run(best["run_id"]))


def _grid_params(config: TrainingConfig, result: dict[str, Any]) -> dict[str, Any]:
    """The candidate's hyper-parameters with their types (run params are strings)."""
    for candidate in config.candidates():
        if candidate.key == result["candidate"]:
            return candidate.params
    raise ValueError(f"{result['candidate']} is not a candidate of this run's grids")


def grid_coverage(results: list[dict[str, Any]], config: TrainingConfig) -> dict[str, Any]:
    """How many candidates of the grid were evaluated: finished, or failed on the data.

    A candidate whose task failed for good (MLflow or its store down through
    every retry) was not evaluated: a version chosen without it is from a
    partial grid.
    """
    keys = [c.key for c in config.candidates()]
    evaluated = {r["candidate"] for r in results if r["status"] == "FINISHED" or r["error_kind"] == faults.MODEL}
    missing = [k for k in keys if k not in evaluated]
    return {"evaluated": len(keys) - len(missing), "total": len(keys), "partial": bool(missing), "missing": missing}


def register_best(
    contract: DatasetContract,
    snapshot: Snapshot,
    config: TrainingConfig,
    parent: dict[str, Any],
    engine: Engine | None = None,
    policy: ComparisonPolicy | None = None,
) -> dict[str, Any]:
    """Register the refit model of the chosen candidate, then apply the promotion rule; closes the parent run.

    The first version takes @production, every later one @challenger. A
    dataset that gets no new labels (penguins) compares its challenger with
    production at once, on the snapshot's test rows neither trained on
    (monitoring.challenger; stored in `engine`'s tables when given).

    The version carries how much of the grid was evaluated (a partial grid is
    logged as a warning and tagged), and the data, grid and code it came
    from: a run where all three equal the latest version's registers nothing
    (the same seeded training gives the same model) and says why on the
    chosen run, unless that version came from a partial grid.
    """
    client = MlflowClient()
    parent_id, metric = parent["parent_run_id"], config.selection_metric
    best = chosen_candidate(client, config, parent)
    if not best["model_id"]:
        raise RuntimeError(f"{best['candidate']} has no refit model yet: refit_best has not finished")
    results = candidate_results(parent)
    coverage = grid_coverage(results, config)
    coverage_tags = {
        names.TAG_CANDIDATES_EVALUATED: coverage["evaluated"],
        names.TAG_CANDIDATES_TOTAL: coverage["total"],
        names.TAG_PARTIAL_GRID: str(coverage["partial"]).lower(),
    }
    if coverage["partial"]:
        log.warning(
            "partial grid: %d of %d candidates were evaluated; %s chosen without %s (their tasks failed, see their runs)",
            coverage["evaluated"],
            coverage["total"],
            best["candidate"],
            ", ".join(coverage["missing"]),
        )
    for key, value in coverage_tags.items():
        client.set_tag(parent_id, key, str(value))
    summary = {
        "model_name": config.model_name,
        "best": best,
        "finished": sum(r["status"] == "FINISHED" for r in results),
        "failed": [r["candidate"] for r in results if r["status"] != "FINISHED"],
        # Under the names of the parent run's tags.
        names.TAG_CANDIDATES_EVALUATED: coverage["evaluated"],
        names.TAG_CANDIDATES_TOTAL: coverage["total"],
        names.TAG_PARTIAL_GRID: coverage["partial"],
    }
    current = fingerprint.fingerprint(snapshot.digest, config)
    if registry.registered_by_run(client, config.model_name, best["run_id"]) is None:
        skipped = _skip_reason(client, config.model_name, current)
        if skipped:
            log.warning("%s: registration skipped: %s", config.model_name, skipped)
            client.set_tag(best["run_id"], names.TAG_REGISTRATION_SKIPPED, skipped[:4000])
            client.set_tag(parent_id, names.TAG_REGISTRATION_SKIPPED, skipped[:4000])
            client.set_terminated(parent_id, "FINISHED")
            return {**summary, "version": None, "registered": False, "skipped": skipped, "promoted": False, "decision": None}
    scores = {k: f"{v:.6f}" for k, v in best["metrics"].items() if k.startswith(("cv_", "test_"))}
    version = registry.register(
        client,
        config.model_name,
        best["model_id"],
        best["run_id"],
        {
            "selection_metric": metric,
            **scores,
            "cv_folds": config.cv_folds,
            "engineered_features": config.engineered_features,
            **current,
            names.DATA_ROWS: snapshot.rows,
            names.DATA_TABLE: snapshot.source.table,
            **coverage_tags,
            # The training rows: clean rows up to this id that the split rule does not make test rows.
            names.DATA_SNAPSHOT_MAX_ID: snapshot.source.max_id,
            **SplitRule(config.random_state, config.test_size).tags(),
            names.TAG_AUTO_PROMOTE: str(config.auto_promote).lower(),
            names.TAG_DAG_ID: parent["dag_id"],
            names.TAG_RUN_ID: parent["run_id"],
            names.TAG_FAMILY: best["family"],
            names.TAG_CANDIDATE: best["candidate"],
        },
    )
    decision = registry.recorded_decision(version, metric) or registry.decide(
        client, config.model_name, version, metric, config.auto_promote
    )
    registry.apply(client, config.model_name, version, decision)
    _record_on_parent(client, parent_id, best, version.version, decision)
    comparison = None
    compared = names.TAG_COMPARISON_RECOMMENDATION in (version.tags or {})  # by an earlier try of this task
    if not decision.promote and not compared and contract.name not in challenger.LABELLED_BATCHES:
        comparison = _compare_now(engine, client, contract, snapshot, config.model_name, version.version, policy)
    client.set_terminated(parent_id, "FINISHED")
    return {
        **summary,
        "version": version.version,
        "registered": True,
        "skipped": None,
        "promoted": decision.promote,
        "decision": decision.as_dict(),
        "comparison": comparison,
    }


def _compare_now(
    engine: Engine | None,
    client: MlflowClient,
    contract: DatasetContract,
    snapshot: Snapshot,
    name: str,
    version: str,
    policy: ComparisonPolicy | None,
) -> dict[str, Any] | None:
    """The new challenger against production on the snapshot's rows neither trained on."""
    from mlops_pipelines.monitoring.served import challenger as challenger_of
    from mlops_pipelines.monitoring.served import production

    current, rival = production(client, name), challenger_of(client, name)
    if current is None or rival is None or rival.version != version:
        return None
    if policy is None:
        from mlops_pipelines.settings import settings

        policy = ComparisonPolicy.from_settings(settings())
    return challenger.compare_at_registration(
        engine, client, contract, (snapshot.ids, snapshot.keys, snapshot.frame), current, rival, policy
    )


def _skip_reason(client: MlflowClient, name: str, current: dict[str, str]) -> str | None:
    """Why this run's model need not be registered: the latest version has the same data, grid and code."""
    latest = latest_version(client, name)
    if latest is None or not fingerprint.unchanged(latest.tags or {}, current):
        return None
    if (latest.tags or {}).get(names.TAG_PARTIAL_GRID) == "true":
        log.info("%s version %s has the same data, grid and code but a partial grid: registering again", name, latest.version)
        return None
    described = ", ".join(f"{k} {v}" for k, v in current.items())
    return f"data, grid and code unchanged since version {latest.version} ({described})"


def _record_on_parent(client: MlflowClient, parent_id: str, best: dict[str, Any], version: str, decision) -> None:
    client.set_tag(parent_id, names.TAG_REGISTERED_VERSION, version)
    client.set_tag(parent_id, names.TAG_PROMOTION_DECISION, names.PROMOTED if decision.promote else names.NOT_PROMOTED)
    client.set_tag(parent_id, names.TAG_PROMOTION_REASON, decision.reason[:4000])
    for key, value in best["metrics"].items():
        if key.startswith(("cv_", "test_")):
            client.log_metric(parent_id, f"best.{key}", value)
    client.log_dict(parent_id, decision.as_dict() | {"version": version}, names.PROMOTION_FILE)
