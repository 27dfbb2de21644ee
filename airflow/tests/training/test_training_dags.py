"""The train DAG files import cleanly, are scheduled on their clean-data asset and take the Params."""

from pathlib import Path

import pytest

from mlops_pipelines.contracts import CONTRACTS
from mlops_pipelines.training.config import default_grids

DAGS = Path(__file__).resolve().parents[2] / "dags"
TRAIN_DAGS = {f"{name}_train": name for name in CONTRACTS}
PARAMS = {
    "logistic_regression_grid", "random_forest_grid", "test_size", "random_state",
    "selection_metric", "auto_promote", "promotion_margin",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_train_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(TRAIN_DAGS) <= set(dagbag.dags)


@pytest.mark.parametrize("dag_id, dataset", TRAIN_DAGS.items())
def test_scheduled_on_the_clean_data_asset_of_its_dataset(dagbag, dag_id, dataset):
    dag = dagbag.dags[dag_id]
    assets = dag.timetable.asset_condition.objects
    assert [(a.name, a.uri) for a in assets] == [(f"{dataset}_clean", CONTRACTS[dataset].clean_asset_uri)]
    # The ingest DAG's publishing task updates exactly this asset.
    ingest = dagbag.dags[f"{dataset}_ingest"].get_task("publish_clean")
    assert [a.uri for a in ingest.outlets] == [CONTRACTS[dataset].clean_asset_uri]
    assert dag.max_active_runs == 1 and not dag.catchup


@pytest.mark.parametrize("dag_id", TRAIN_DAGS)
def test_params_with_their_defaults(dagbag, dag_id):
    params = dagbag.dags[dag_id].params
    assert set(params.keys()) == PARAMS
    assert params["logistic_regression_grid"] == default_grids()["logistic_regression"]
    assert params["random_forest_grid"] == default_grids()["random_forest"]
    assert params["auto_promote"] is False
    assert params["selection_metric"] == "f1_macro"
    assert params["promotion_margin"] == 0.0


@pytest.mark.parametrize("dag_id", TRAIN_DAGS)
def test_one_task_per_family_then_registration(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert {t.task_id for t in dag.tasks} == {"prepare", "train_logistic_regression", "train_random_forest", "register_best"}
    for family_task in ("train_logistic_regression", "train_random_forest"):
        assert dag.get_task(family_task).upstream_task_ids == {"prepare"}
    register = dag.get_task("register_best")
    assert register.upstream_task_ids == {"prepare", "train_logistic_regression", "train_random_forest"}
    # One family failing whole still lets the other's best be registered.
    assert register.trigger_rule == "all_done_min_one_success"


def test_dag_files_only_call_the_shared_factory():
    for dag_id, dataset in TRAIN_DAGS.items():
        source = (DAGS / f"{dag_id}.py").read_text()
        assert f"build_training_dag({dataset.upper()})" in source
        assert len([line for line in source.splitlines() if line and not line.startswith(("#", '"""', " "))]) <= 6
