"""The training DAG of a dataset: penguins_train and covertype_train are both built here.

prepare -> train_logistic_regression, train_random_forest -> register_best

- Scheduled on the dataset's clean-data Asset (each ingest that adds clean rows
  triggers a training run), and triggerable by hand with Params overriding the
  defaults.
- One task per model family: a failing candidate is logged as a failed child
  run and the others go on; a family whose candidates all fail fails its task
  (without retries, since refitting would fail the same way), and registration
  still runs on the other family's candidates.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.dag_defaults import DEFAULT_ARGS, START_DATE, clean_asset
from mlops_pipelines.training.config import DEFAULTS, grid_param_name
from mlops_pipelines.training.families import FAMILIES
from mlops_pipelines.training.grids import grid_schema
from mlops_pipelines.training.selection import HIGHER_IS_BETTER

# A default grid takes minutes; a larger one given at trigger time may take longer,
# but a task hung on a dead server should not hold the DAG (max_active_runs=1) forever.
TRAIN_TIMEOUT = timedelta(hours=2)


def training_params() -> dict[str, Any]:
    from airflow.sdk import Param

    params = {
        grid_param_name(name): Param(
            fam.default_grid, description=f"{fam.title}: values to try per hyper-parameter (all combinations are trained)",
            **grid_schema(name),
        )
        for name, fam in FAMILIES.items()
    }
    params.update({
        "test_size": Param(DEFAULTS["test_size"], type="number", exclusiveMinimum=0, exclusiveMaximum=1,
                           description="share of the snapshot held out for the test metrics (stratified)"),
        "random_state": Param(DEFAULTS["random_state"], type="integer", minimum=0,
                              description="seed of the split and of the models"),
        "selection_metric": Param(DEFAULTS["selection_metric"], type="string", enum=sorted(HIGHER_IS_BETTER),
                                  description="test metric that picks the version to register"),
        "auto_promote": Param(DEFAULTS["auto_promote"], type="boolean",
                              description="move @production to the new version if it beats production by the margin"),
        "promotion_margin": Param(DEFAULTS["promotion_margin"], type="number", minimum=0,
                                  description="how much better (in the selection metric) a new version must be to be auto-promoted"),
    })
    return params


def _snapshot(contract: DatasetContract, max_id: int):
    from mlops_pipelines.resources import data_engine
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

    @dag(
        dag_id=f"{contract.name}_train",
        schedule=[clean_asset(contract.name)],
        start_date=START_DATE,
        catchup=False,
        # Runs queue rather than overlap: each fits on the same 2 cores, and
        # promotion compares against the production version of the moment.
        max_active_runs=1,
        default_args=default_args or DEFAULT_ARGS,
        params=training_params(),
        tags=[contract.name, "training"],
        doc_md=__doc__,
    )
    def training():
        @task
        def prepare() -> dict:
            from mlops_pipelines.resources import data_engine
            from mlops_pipelines.training import tasks
            from mlops_pipelines.training.data import SplitError, snapshot_max_id

            config = _config(contract)
            context = get_current_context()
            dag_id, run_id = context["dag"].dag_id, context["run_id"]
            # A retry keeps the snapshot its first try fixed; ingestion may have added rows since.
            max_id = tasks.recorded_snapshot_id(config, dag_id, run_id) or snapshot_max_id(data_engine(), contract)
            if max_id is None:
                raise AirflowFailException(f"{contract.clean_table} has no rows yet: run {contract.name}_ingest first")
            try:
                return tasks.prepare(contract, _snapshot(contract, max_id), config, dag_id, run_id)
            except SplitError as exc:  # too few rows for test_size: a retry would fail the same way
                raise AirflowFailException(str(exc)) from exc

        @task(execution_timeout=TRAIN_TIMEOUT)
        def train(family: str, parent: dict) -> dict:
            from mlops_pipelines.training import tasks

            try:
                return tasks.train_family(contract, family, _snapshot(contract, parent["snapshot_max_id"]), _config(contract), parent)
            except tasks.AllCandidatesFailed as exc:
                raise AirflowFailException(str(exc)) from exc

        # Runs once both families are done if at least one upstream succeeded, so
        # one family failing whole does not lose the other's candidates.
        @task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
        def register_best(parent: dict) -> dict:
            from mlops_pipelines.training import tasks

            try:
                return tasks.register_best(contract, _snapshot(contract, parent["snapshot_max_id"]), _config(contract), parent)
            except tasks.AllCandidatesFailed as exc:
                raise AirflowFailException(str(exc)) from exc

        parent = prepare()
        trained = [train.override(task_id=f"train_{name}")(family=name, parent=parent) for name in FAMILIES]
        trained >> register_best(parent)

    return training()
