"""The train DAG files import cleanly, are scheduled on their asset (penguins: clean data; covertype:
the monitor's retraining asset) and take the Params."""

from pathlib import Path

import pytest

from mlops_pipelines.contracts import CONTRACTS
from mlops_pipelines.training.config import default_grids

DAGS = Path(__file__).resolve().parents[2] / "dags"
TRAIN_DAGS = {f"{name}_train": name for name in CONTRACTS}
PARAMS = {
    "logistic_regression_grid",
    "random_forest_grid",
    "svm_grid",
    "test_size",
    "random_state",
    "cv_folds",
    "selection_metric",
    "auto_promote",
}
# Only datasets with engineered features offer the switch.
EXTRA_PARAMS = {"penguins_train": {"engineered_features"}, "covertype_train": set()}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_train_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(TRAIN_DAGS) <= set(dagbag.dags)


def test_penguins_train_is_scheduled_on_its_clean_data_asset(dagbag):
    dag = dagbag.dags["penguins_train"]
    assets = dag.timetable.asset_condition.objects
    assert [(a.name, a.uri) for a in assets] == [("penguins_clean", CONTRACTS["penguins"].clean_asset_uri)]
    # The ingest DAG's publishing task updates exactly this asset.
    ingest = dagbag.dags["penguins_ingest"].get_task("publish_clean")
    assert [a.uri for a in ingest.outlets] == [CONTRACTS["penguins"].clean_asset_uri]
    assert dag.max_active_runs == 1 and not dag.catchup


def test_covertype_train_is_scheduled_on_the_monitors_retraining_asset(dagbag):
    dag = dagbag.dags["covertype_train"]
    assets = dag.timetable.asset_condition.objects
    assert [a.name for a in assets] == ["covertype_retrain"]
    # Both monitoring DAGs update it (through check_retrain), and nothing else does.
    for dag_id in ("covertype_ingest", "monitor_drift"):
        assert [a.name for a in dagbag.dags[dag_id].get_task("check_retrain").outlets] == ["covertype_retrain"]
    producers = {
        t.task_id for d in dagbag.dags.values() for t in d.tasks if any(getattr(a, "name", "") == "covertype_retrain" for a in t.outlets)
    }
    assert producers == {"check_retrain"}
    assert dag.max_active_runs == 1 and not dag.catchup


def test_run_reason_names_the_triggering_events():
    from types import SimpleNamespace

    from mlops_pipelines.orchestration.training_dag import run_reason

    event = SimpleNamespace(extra={"reason": "accuracy_drop", "detail": {"batches": []}})
    assert run_reason({"triggering_asset_events": {"covertype_retrain": [event]}}) == ("accuracy_drop", [event.extra])
    assert run_reason({"triggering_asset_events": {"penguins_clean": [SimpleNamespace(extra={"new_rows": 3})]}})[0] == "new_clean_rows"
    assert run_reason({"triggering_asset_events": {}, "dag_run": SimpleNamespace(run_type="manual")}) == ("manual", [])


@pytest.mark.parametrize("dag_id, dataset", TRAIN_DAGS.items())
def test_params_with_their_defaults(dagbag, dag_id, dataset):
    params = dagbag.dags[dag_id].params
    assert set(params.keys()) == PARAMS | EXTRA_PARAMS[dag_id]
    grids = default_grids(CONTRACTS[dataset])
    for family in ("logistic_regression", "random_forest", "svm"):
        assert params[f"{family}_grid"] == grids[family]
    assert params["auto_promote"] is False
    assert params["selection_metric"] == "f1_macro"
    assert params["cv_folds"] == 5
    # SVM is on for penguins, off for Covertype (too slow there: bench/README.md).
    assert (params["svm_grid"] == {}) is (dataset == "covertype")


@pytest.mark.parametrize("dag_id", TRAIN_DAGS)
def test_one_mapped_task_per_candidate_then_refit_and_registration(dagbag, dag_id):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    dag = dagbag.dags[dag_id]
    assert {t.task_id for t in dag.tasks} == {"prepare", "list_candidates", "train_candidate", "refit_best", "register_best"}
    assert dag.get_task("list_candidates").upstream_task_ids == {"prepare"}
    train = dag.get_task("train_candidate")
    assert isinstance(train, MappedOperator)
    assert train.upstream_task_ids == {"prepare", "list_candidates"}
    # The grid names each instance by its candidate's key; two run at once on the 2 cores.
    assert train.map_index_template == "{{ task.op_kwargs['candidate']['key'] }}"
    assert train.max_active_tis_per_dagrun == 2
    refit = dag.get_task("refit_best")
    assert refit.upstream_task_ids == {"prepare", "train_candidate"}
    # A candidate task that failed for good still lets the others' best be refit.
    assert refit.trigger_rule == "all_done_min_one_success"
    assert dag.get_task("register_best").upstream_task_ids == {"prepare", "refit_best"}


@pytest.mark.parametrize("dag_id", TRAIN_DAGS)
def test_every_training_task_has_an_execution_timeout_from_the_settings(dagbag, dag_id):
    from datetime import timedelta

    dag = dagbag.dags[dag_id]
    fitting = {"train_candidate", "refit_best"}
    for task in dag.tasks:
        expected = timedelta(minutes=120 if task.task_id in fitting else 30)
        assert task.execution_timeout == expected, task.task_id


def test_training_timeouts_come_from_the_environment(monkeypatch):
    from datetime import timedelta

    from mlops_pipelines.orchestration import training_dag
    from mlops_pipelines.settings import settings

    monkeypatch.setenv("TRAINING_FIT_TIMEOUT_MINUTES", "45")
    monkeypatch.setenv("TRAINING_STEP_TIMEOUT_MINUTES", "5")
    settings.cache_clear()
    try:
        assert training_dag.timeouts() == (timedelta(minutes=45), timedelta(minutes=5))
    finally:
        settings.cache_clear()


def test_candidates_at_once_come_from_the_environment(monkeypatch):
    # The scale-out profile raises it to the Celery workers' task slots (docs/scaling.md).
    from mlops_pipelines.contracts import CONTRACTS
    from mlops_pipelines.orchestration import training_dag
    from mlops_pipelines.settings import settings

    monkeypatch.setenv("TRAINING_CANDIDATES_AT_ONCE", "6")
    settings.cache_clear()
    try:
        dag = training_dag.build_training_dag(CONTRACTS["penguins"])
        assert dag.get_task("train_candidate").max_active_tis_per_dagrun == 6
    finally:
        settings.cache_clear()


def test_dag_files_only_call_the_shared_factory():
    for dag_id, dataset in TRAIN_DAGS.items():
        source = (DAGS / f"{dag_id}.py").read_text()
        assert f"build_training_dag({dataset.upper()})" in source
        assert len([line for line in source.splitlines() if line and not line.startswith(("#", '"""', " "))]) <= 6
