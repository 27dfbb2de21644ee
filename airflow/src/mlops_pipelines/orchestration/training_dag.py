"""The training DAG of a dataset: penguins_train and covertype_train are both built here.

prepare -> list_candidates -> train_candidate (mapped: one task instance per
candidate) -> refit_best -> register_best

- penguins_train is scheduled on the dataset's clean-data Asset (each ingest
  that adds clean rows triggers a training run); covertype_train on the
  `covertype_retrain` Asset, which the monitor updates only when it finds a
  reason (RETRAINED_BY_MONITOR; monitoring.retrain). Both are triggerable by
  hand with Params overriding the defaults. The parent MLflow run records why
  it ran (`retrain.reason`: the triggering events' reasons, else `manual`).
- Each candidate (family x hyper-parameters) is a mapped task instance named
  by its key in the grid (e.g. `random_forest-02`): it is cross-validated on
  the training split and logged as a child run. A candidate whose folds fail
  is a failed child run and its task still succeeds (refitting would fail the
  same way); a task failing because MLflow or its stores failed is retried
  alone and resumes its run (training.faults). Every task has an
  execution_timeout (TRAINING_*_TIMEOUT_MINUTES).
- refit_best runs once every candidate is done, if at least one succeeded: the
  best by CV mean is refit on the whole training split and scored once on the
  test split. If no candidate finished, it fails with each one's reason.
- register_best tags the version with how much of the grid was evaluated
  (a partial grid is logged as a warning), and registers nothing when the
  data, grid and code equal the latest version's (training.fingerprint).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.orchestration.defaults import DEFAULT_ARGS, START_DATE, clean_asset, retrain_asset
from mlops_pipelines.training.config import DEFAULTS, ENGINEERED_FEATURES_DEFAULT, MAX_CV_FOLDS, default_grids, grid_param_name
from mlops_pipelines.training.families import FAMILIES
from mlops_pipelines.training.features import has_engineered_features
from mlops_pipelines.training.grids import grid_schema
from mlops_pipelines.training.selection import HIGHER_IS_BETTER


def timeouts() -> tuple[timedelta, timedelta]:
    """execution_timeout of the fitting tasks and of the others (TRAINING_*_TIMEOUT_MINUTES).

    A default grid takes minutes; a larger one given at trigger time may take
    longer, but a task hung on a dead server should not hold the DAG
    (max_active_runs=1) for ever: it fails and Airflow retries it.
    """
    from mlops_pipelines.settings import settings

    return timedelta(minutes=settings().training_fit_timeout_minutes), timedelta(minutes=settings().training_step_timeout_minutes)


def candidates_at_once() -> int:
    """Candidates cross-validated at the same time in one DAG run (TRAINING_CANDIDATES_AT_ONCE).

    By default 2, for a 2-core machine: two candidates with one core each
    (families.CV_N_JOBS) keep both busy, and Airflow's per-task start-up (seconds:
    a new process importing sklearn and MLflow) overlaps with the other
    candidate's fitting; measured against one candidate at a time with 2 cores
    for its folds in bench/README.md. With Celery workers, more.
    """
    from mlops_pipelines.settings import settings

    return settings().training_candidates_at_once


# Datasets whose training runs on the monitor's reasons rather than on every ingest
# (Covertype arrives every 5 minutes; penguins once).
RETRAINED_BY_MONITOR = frozenset({"covertype"})


def training_schedule(contract: DatasetContract) -> list:
    if contract.name in RETRAINED_BY_MONITOR:
        return [retrain_asset(contract.name)]
    return [clean_asset(contract.name)]


def run_reason(context) -> tuple[str, list]:
    """Why this DAG run trains: the reasons in its triggering asset events, else how it was started."""
    events = context.get("triggering_asset_events") or {}
    extras = [dict(e.extra or {}) for asset_events in events.values() for e in asset_events]
    reasons = sorted({str(x["reason"]) for x in extras if x.get("reason")})
    if reasons:
        return ",".join(reasons), extras
    if extras:  # the clean-data asset (penguins): new clean rows
        return "new_clean_rows", extras
    run_type = str(getattr(context.get("dag_run"), "run_type", "manual") or "manual")
    return run_type.split(".")[-1].lower(), []


def training_params(contract: DatasetContract | None = None) -> dict[str, Any]:
    from airflow.sdk import Param

    grids = default_grids(contract)
    params = {
        grid_param_name(name): Param(
            grids[name],
            description=f"{fam.title}: values to try per hyper-parameter (all combinations are cross-validated); {{}} turns the family off",
            **grid_schema(name),
        )
        for name, fam in FAMILIES.items()
    }
    params.update(
        {
            "test_size": Param(
                DEFAULTS["test_size"],
                type="number",
                exclusiveMinimum=0,
                exclusiveMaximum=1,
                description="share of the rows held out as test rows, each row by its fingerprint hashed with the seed: a test row stays one as data grows",
            ),
            "random_state": Param(
                DEFAULTS["random_state"],
                type="integer",
                minimum=0,
                description="seed of the split (recorded on the version) and of the models",
            ),
            "cv_folds": Param(
                DEFAULTS["cv_folds"],
                type="integer",
                minimum=2,
                maximum=MAX_CV_FOLDS,
                description="folds of the stratified cross-validation (on the training split) that scores each candidate",
            ),
            "selection_metric": Param(
                DEFAULTS["selection_metric"],
                type="string",
                enum=sorted(HIGHER_IS_BETTER),
                description="metric whose mean across CV folds picks the candidate to refit and register",
            ),
            "auto_promote": Param(
                DEFAULTS["auto_promote"],
                type="boolean",
                description="move @production to the new version once its comparison with production on rows neither trained on recommends it (CHALLENGER_*)",
            ),
        }
    )
    if contract is not None and has_engineered_features(contract):
        # Only where the dataset has engineered features (penguins): elsewhere the Param would do nothing.
        params["engineered_features"] = Param(
            ENGINEERED_FEATURES_DEFAULT,
            type="boolean",
            description="add the engineered ratio features (computed inside the model from the raw fields)",
        )
    return params


def _snapshot(contract: DatasetContract, max_id: int):
    from mlops_pipelines.orchestration.resources import data_engine
    from mlops_pipelines.training.data import read_snapshot

    return read_snapshot(data_engine(), contract, max_id)


def _config(contract: DatasetContract):
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    from mlops_pipelines.training.config import TrainingConfig

    try:
        return TrainingConfig.from_params(contract, get_current_context()["params"])
    except ValueError as exc:  # a bad Param will not get better on retry
        raise AirflowFailException(str(exc)) from exc


def build_training_dag(contract: DatasetContract, default_args: dict[str, Any] | None = None):
    """The `<dataset>_train` DAG for one dataset contract."""
    from airflow.sdk import dag, get_current_context, task
    from airflow.sdk.exceptions import AirflowFailException
    from airflow.task.trigger_rule import TriggerRule

    fit_timeout, step_timeout = timeouts()

    @dag(
        dag_id=f"{contract.name}_train",
        schedule=training_schedule(contract),
        start_date=START_DATE,
        catchup=False,
        # Runs queue rather than overlap: each fits on the same 2 cores, and
        # promotion compares against the production version of the moment.
        max_active_runs=1,
        default_args=default_args or DEFAULT_ARGS,
        params=training_params(contract),
        tags=[contract.name, "training"],
        doc_md=__doc__,
    )
    def training():
        @task(execution_timeout=step_timeout)
        def prepare() -> dict:
            from mlops_pipelines.orchestration.resources import data_engine
            from mlops_pipelines.training import tasks
            from mlops_pipelines.training.data import SplitError, snapshot_max_id

            config = _config(contract)
            context = get_current_context()
            dag_id, run_id = context["dag"].dag_id, context["run_id"]
            # A retry keeps the snapshot its first try fixed; ingestion may have added rows since.
            max_id = tasks.recorded_snapshot_id(config, dag_id, run_id) or snapshot_max_id(data_engine(), contract)
            if max_id is None:
                raise AirflowFailException(f"{contract.clean_table} has no rows yet: run {contract.name}_ingest first")
            reason, events = run_reason(context)
            try:
                return tasks.prepare(contract, _snapshot(contract, max_id), config, dag_id, run_id, reason=reason, trigger_events=events)
            except SplitError as exc:  # too few rows for test_size: a retry would fail the same way
                raise AirflowFailException(str(exc)) from exc

        # Takes the parent run only to start after prepare, which validated the Params.
        @task(execution_timeout=step_timeout)
        def list_candidates(parent: dict) -> list[dict]:
            from mlops_pipelines.training import tasks

            return tasks.list_candidates(_config(contract))

        # The grid names each task instance by its candidate's key; rendered
        # from the task's own arguments, so the name shows while it runs.
        @task(
            execution_timeout=fit_timeout,
            max_active_tis_per_dagrun=candidates_at_once(),
            map_index_template="{{ task.op_kwargs['candidate']['key'] }}",
        )
        def train_candidate(candidate: dict, parent: dict) -> dict:
            from mlops_pipelines.training import tasks
            from mlops_pipelines.training.grids import Candidate

            snapshot = _snapshot(contract, parent["snapshot_max_id"])
            return tasks.train_candidate(contract, Candidate.from_dict(candidate), snapshot, _config(contract), parent)

        # Runs once every candidate is done if at least one task succeeded, so a
        # candidate that failed for good does not lose the others.
        @task(execution_timeout=fit_timeout, trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
        def refit_best(parent: dict) -> dict:
            from mlops_pipelines.training import tasks

            try:
                return tasks.refit_best(contract, _snapshot(contract, parent["snapshot_max_id"]), _config(contract), parent)
            except tasks.AllCandidatesFailed as exc:
                raise AirflowFailException(str(exc)) from exc

        @task(execution_timeout=step_timeout)
        def register_best(parent: dict) -> dict:
            from mlops_pipelines.orchestration.resources import data_engine
            from mlops_pipelines.training import tasks

            # A partial grid or a skipped registration is logged as a warning by the task body.
            return tasks.register_best(contract, _snapshot(contract, parent["snapshot_max_id"]), _config(contract), parent, data_engine())

        parent = prepare()
        trained = train_candidate.partial(parent=parent).expand(candidate=list_candidates(parent))
        trained >> refit_best(parent) >> register_best(parent)

    return training()
