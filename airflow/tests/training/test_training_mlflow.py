"""Service tests against a real MLflow server (MySQL backend, MinIO artifacts): TEST_MLFLOW_URI.

Each test trains into its own experiment and registered model (unique names),
through the same task functions the DAG runs.
"""

from __future__ import annotations

import dataclasses
import json
import os

import pandas as pd
import pytest

from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.training import families, tasks, tracking
from mlops_pipelines.training.config import TrainingConfig
from mlops_pipelines.training.data import split
from mlops_pipelines.training.registry import PRODUCTION_ALIAS

from training_helpers import unique

pytestmark = pytest.mark.mlflow

SMALL = {
    "logistic_regression": {"C": [1.0], "class_weight": [None]},
    "random_forest": {"n_estimators": [10], "max_depth": [4], "min_samples_leaf": [1]},
}
GOOD = {"logistic_regression": {"C": [1.0], "class_weight": [None]}}
# One tree of depth 1 tells at most two of the three species apart.
BAD = {"random_forest": {"n_estimators": [1], "max_depth": [1], "min_samples_leaf": [1]}}


def config_for(contract, model_name, grids, **settings):
    return TrainingConfig.for_contract(contract, experiment_name=f"{model_name}-training", model_name=model_name,
                                       grids=grids, **settings)


def train(contract, snapshot, config, run_id=None):
    """One DAG run's tasks, in order: prepare, one task per family, register."""
    run_id = run_id or unique("manual")
    parent = tasks.prepare(contract, snapshot, config, f"{contract.name}_train", run_id)
    trained = {family: tasks.train_family(contract, family, snapshot, config, parent) for family in config.grids}
    return parent, trained, tasks.register_best(contract, snapshot, config, parent)


def client():
    from mlflow import MlflowClient

    return MlflowClient()


def production(name):
    return client().get_model_version_by_alias(name, PRODUCTION_ALIAS).version


@pytest.fixture(scope="module")
def penguins_run(mlflow_uri, penguins_snapshot):
    config = config_for(PENGUINS, unique("t-penguins-classifier"), SMALL)
    parent, trained, registered = train(PENGUINS, penguins_snapshot, config)
    return {"config": config, "parent": parent, "trained": trained, "registered": registered, "snapshot": penguins_snapshot}


def test_parent_run_per_dag_run_with_settings_and_dataset(penguins_run):
    parent = client().get_run(penguins_run["parent"]["parent_run_id"])
    snapshot = penguins_run["snapshot"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["airflow.dag_id"] == "penguins_train"
    assert parent.data.tags["airflow.run_id"] == penguins_run["parent"]["run_id"]
    assert parent.data.params["selection_metric"] == "f1_macro" and parent.data.params["data.rows"] == "342"
    assert json.loads(parent.data.params["grid.random_forest"]) == SMALL["random_forest"]
    (dataset_input,) = parent.inputs.dataset_inputs
    dataset = dataset_input.dataset
    assert json.loads(dataset.source) == {"uri": PENGUINS.clean_asset_uri, "table": "penguins_clean", "max_id": 342}
    assert dataset.source_type == "sql_table" and dataset.digest == snapshot.digest
    assert json.loads(dataset.profile)["num_rows"] == 342
    assert parent.data.tags["registered.version"] == penguins_run["registered"]["version"]
    assert parent.data.metrics["best.f1_macro"] == penguins_run["registered"]["best"]["metrics"]["f1_macro"]


def test_child_run_per_candidate_with_params_metrics_figure_and_datasets(penguins_run):
    parent = penguins_run["parent"]
    children = tracking.candidate_runs(client(), parent["experiment_id"], parent["parent_run_id"])
    assert sorted(r.data.tags["training.candidate"] for r in children) == ["logistic_regression-00", "random_forest-00"]
    for run in children:
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parent["parent_run_id"]
        assert run.data.tags["airflow.dag_id"] == "penguins_train" and run.data.tags["airflow.run_id"] == parent["run_id"]
        assert {"accuracy", "f1_macro", "log_loss", "fit_time_s"} <= set(run.data.metrics)
        assert run.data.params["family"] == run.data.tags["training.family"]
        assert tracking.CONFUSION_MATRIX_FILE in [a.path for a in client().list_artifacts(run.info.run_id)]
        contexts = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
        assert set(contexts) == {"train", "test"}
        assert json.loads(contexts["test"].profile)["num_rows"] == 69
        assert contexts["train"].name == "penguins_clean-train" and contexts["train"].digest != contexts["test"].digest
    forest = next(r for r in children if r.data.tags["training.family"] == "random_forest")
    assert forest.data.params["max_depth"] == "4" and forest.data.params["n_estimators"] == "10"
    # Penguins are easy: the required accuracy holds for the candidates.
    assert all(r.data.metrics["accuracy"] >= 0.97 for r in children)


def test_best_candidate_registered_with_metric_digest_and_dag_run(penguins_run):
    registered, config = penguins_run["registered"], penguins_run["config"]
    version = client().get_model_version(config.model_name, registered["version"])
    best = registered["best"]
    assert version.version == "1" and version.run_id == best["run_id"]
    assert version.source == f"models:/{best['model_id']}"
    assert version.tags["selection_metric"] == "f1_macro"
    assert float(version.tags["f1_macro"]) == pytest.approx(best["metrics"]["f1_macro"])
    assert version.tags["data.digest"] == penguins_run["snapshot"].digest
    assert version.tags["airflow.run_id"] == penguins_run["parent"]["run_id"]
    assert version.tags["airflow.dag_id"] == "penguins_train"


def test_registered_model_artifacts_are_in_the_minio_bucket(penguins_run):
    import boto3
    from botocore.config import Config

    url = os.environ.get("TEST_MINIO_URL")
    if not url:
        pytest.skip("TEST_MINIO_URL is not set (scripts/test.sh sets it)")
    version = client().get_model_version(penguins_run["config"].model_name, penguins_run["registered"]["version"])
    location = client().get_logged_model(version.source.removeprefix("models:/")).artifact_location
    assert location.startswith("mlflow-artifacts:/")
    prefix = location.removeprefix("mlflow-artifacts:").strip("/")
    s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="minioadmin", aws_secret_access_key="change-me-minio",
                      region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
    listing = s3.list_objects_v2(Bucket="mlflow", Prefix=prefix + "/")
    files = {obj["Key"].removeprefix(prefix + "/"): obj["Size"] for obj in listing.get("Contents", [])}
    assert {"MLmodel", "model.skops", "input_example.json", tracking.FEATURE_SPEC_FILE, "requirements.txt"} <= set(files)
    assert files["model.skops"] > 1000
    spec = s3.get_object(Bucket="mlflow", Key=f"{prefix}/{tracking.FEATURE_SPEC_FILE}")["Body"].read()
    assert json.loads(spec) == PENGUINS.feature_spec()


def test_first_version_takes_production_and_serves_from_the_registry(penguins_run):
    import mlflow

    name = penguins_run["config"].model_name
    assert penguins_run["registered"]["promoted"] is True
    assert production(name) == "1"
    version = client().get_model_version(name, "1")
    assert version.tags["promotion.decision"] == "promoted"
    model = mlflow.pyfunc.load_model(f"models:/{name}@{PRODUCTION_ALIAS}")
    example = model.input_example
    assert isinstance(example, pd.DataFrame) and list(example.columns) == PENGUINS.feature_names
    assert set(model.predict(example)) <= set(PENGUINS.classes)
    # A bird of unrecorded sex is sent with sex null; leaving the column out is
    # refused by the signature with a clear message, not deep in the pipeline.
    assert model.predict(example.head(1).assign(sex=None))[0] in PENGUINS.classes
    with pytest.raises(mlflow.exceptions.MlflowException, match="sex"):
        model.predict(example.drop(columns=["sex"]).head(1))
    info = mlflow.models.get_model_info(f"models:/{name}@{PRODUCTION_ALIAS}")
    assert info.metadata["feature_spec"] == PENGUINS.feature_spec()
    assert all(c.required for c in info.signature.inputs.inputs)


def test_served_model_predicts_single_threaded(penguins_run):
    import mlflow.sklearn

    model_id = penguins_run["trained"]["random_forest"]["results"][0]["model_id"]
    forest = mlflow.sklearn.load_model(f"models:/{model_id}")
    # Fitted with 2 jobs, logged to predict one request's rows without a thread pool.
    assert forest.named_steps["classifier"].n_jobs == 1


def test_retried_tasks_reuse_their_runs_and_version(penguins_run):
    config, snapshot, parent = penguins_run["config"], penguins_run["snapshot"], penguins_run["parent"]
    # A retried prepare finds the snapshot its first try fixed, and the same parent run.
    assert tasks.recorded_snapshot_id(config, "penguins_train", parent["run_id"]) == 342
    assert tasks.recorded_snapshot_id(config, "penguins_train", "another-run") is None
    again = tasks.prepare(PENGUINS, snapshot, config, "penguins_train", parent["run_id"])
    assert again["parent_run_id"] == parent["parent_run_id"]
    before = len(tracking.candidate_runs(client(), parent["experiment_id"], parent["parent_run_id"]))
    summary = tasks.train_family(PENGUINS, "logistic_regression", snapshot, config, parent)
    assert summary["finished"] == 1
    assert len(tracking.candidate_runs(client(), parent["experiment_id"], parent["parent_run_id"])) == before
    registered = tasks.register_best(PENGUINS, snapshot, config, parent)
    assert registered["version"] == penguins_run["registered"]["version"]
    assert [v.version for v in client().search_model_versions(f"name = '{config.model_name}'")] == ["1"]


def test_a_failing_candidate_is_a_failed_child_run_and_the_others_go_on(mlflow_uri, penguins_snapshot, monkeypatch):
    original = families.FAMILIES["random_forest"]

    def make(params, random_state):
        if params["max_depth"] == 3:
            raise MemoryError("simulated: this candidate does not fit")
        return original.make(params, random_state)

    monkeypatch.setitem(families.FAMILIES, "random_forest", dataclasses.replace(original, make=make))
    grids = {"random_forest": {"n_estimators": [5], "max_depth": [2, 3, 4], "min_samples_leaf": [1]}}
    parent, trained, registered = train(PENGUINS, penguins_snapshot, config_for(PENGUINS, unique("t-failing"), grids))
    assert trained["random_forest"]["failed"] == ["random_forest-01"] and trained["random_forest"]["finished"] == 2
    runs = {r.data.tags["training.candidate"]: r for r in tracking.candidate_runs(client(), parent["experiment_id"], parent["parent_run_id"])}
    assert runs["random_forest-01"].info.status == "FAILED"
    assert runs["random_forest-01"].data.tags["training.error"] == "MemoryError: simulated: this candidate does not fit"
    assert runs["random_forest-00"].info.status == runs["random_forest-02"].info.status == "FINISHED"
    assert registered["version"] == "1" and registered["best"]["candidate"] in ("random_forest-00", "random_forest-02")
    assert registered["failed"] == ["random_forest-01"]


def test_a_family_whose_candidates_all_fail_raises(mlflow_uri, penguins_snapshot, monkeypatch):
    original = families.FAMILIES["random_forest"]

    def make(params, random_state):
        raise ValueError("simulated")

    monkeypatch.setitem(families.FAMILIES, "random_forest", dataclasses.replace(original, make=make))
    config = config_for(PENGUINS, unique("t-allfail"), {"random_forest": {"n_estimators": [5], "max_depth": [2], "min_samples_leaf": [1]}})
    parent = tasks.prepare(PENGUINS, penguins_snapshot, config, "penguins_train", unique("manual"))
    with pytest.raises(tasks.AllCandidatesFailed, match="every random_forest candidate failed"):
        tasks.train_family(PENGUINS, "random_forest", penguins_snapshot, config, parent)
    with pytest.raises(tasks.AllCandidatesFailed, match="nothing to register"):
        tasks.register_best(PENGUINS, penguins_snapshot, config, parent)
    assert client().get_run(parent["parent_run_id"]).info.status == "FAILED"


def test_auto_promote_moves_production_only_for_a_better_version(mlflow_uri, penguins_snapshot):
    name = unique("t-promote")

    def run(grids, **settings):
        return train(PENGUINS, penguins_snapshot, config_for(PENGUINS, name, grids, **settings))[2]

    first = run(BAD, auto_promote=True)
    assert first["version"] == "1" and first["promoted"] and production(name) == "1"

    better_but_off = run(GOOD)  # auto_promote defaults to off
    assert not better_but_off["promoted"] and production(name) == "1"
    assert "auto_promote is off" in better_but_off["decision"]["reason"]

    better = run(GOOD, auto_promote=True, promotion_margin=0.05)
    decision = better["decision"]
    assert better["promoted"] and production(name) == better["version"] == "3"
    assert decision["new_score"] - decision["production_score"] > 0.05
    tags = client().get_model_version(name, "3").tags
    assert tags["promotion.decision"] == "promoted"
    assert float(tags["promotion.production_score"]) == pytest.approx(decision["production_score"], abs=1e-6)
    assert float(tags["promotion.new_score"]) == pytest.approx(decision["new_score"], abs=1e-6)

    worse = run(BAD, auto_promote=True)
    assert not worse["promoted"] and production(name) == "3"
    assert worse["decision"]["new_score"] < worse["decision"]["production_score"]
    assert "does not beat production" in worse["decision"]["reason"]

    equal = run(GOOD, auto_promote=True)  # same test data, same score: not better
    assert equal["decision"]["new_score"] == equal["decision"]["production_score"]
    assert not equal["promoted"] and production(name) == "3"
    # The decision and both scores are on the DAG run's parent run too.
    parent_runs = client().search_runs([client().get_experiment_by_name(f"{name}-training").experiment_id],
                                       filter_string="tags.`training.role` = 'parent'", order_by=["start_time DESC"], max_results=1)
    assert parent_runs[0].data.tags["promotion.decision"] == "not_promoted"
    assert {"promotion.new_score", "promotion.production_score"} <= set(parent_runs[0].data.metrics)


def test_a_retried_register_task_keeps_the_recorded_decision(mlflow_uri, penguins_snapshot):
    """Running register_best again for the same DAG run (a retry, or a cleared task) changes nothing."""
    config = config_for(PENGUINS, unique("t-retry"), GOOD)
    parent, _, first = train(PENGUINS, penguins_snapshot, config)
    again = tasks.register_best(PENGUINS, penguins_snapshot, config, parent)
    assert first["promoted"] and again["promoted"] and again["version"] == first["version"] == "1"
    assert again["decision"] == first["decision"]
    assert client().get_model_version(config.model_name, "1").tags["promotion.decision"] == "promoted"
    assert production(config.model_name) == "1"


def test_covertype_model_accepts_a_soil_type_absent_from_its_training_data(mlflow_uri, covertype_snapshot):
    import mlflow

    assert "C5151" not in set(covertype_snapshot.frame["Soil_Type"])
    config = config_for(COVERTYPE, unique("t-covertype"), SMALL)
    _, trained, registered = train(COVERTYPE, covertype_snapshot, config)
    assert registered["promoted"] and trained["random_forest"]["finished"] == 1
    model = mlflow.pyfunc.load_model(f"models:/{config.model_name}@{PRODUCTION_ALIAS}")
    rows = model.input_example.assign(Soil_Type="C5151")
    assert set(model.predict(rows)) <= set(COVERTYPE.classes)
    inputs = {c.name: c.type.name for c in mlflow.models.get_model_info(f"models:/{config.model_name}/1").signature.inputs.inputs}
    assert inputs["Elevation"] == "long" and inputs["Soil_Type"] == "string"
    parts = split(covertype_snapshot, config.test_size, config.random_state)
    assert len(model.predict(parts.X_test)) == len(parts.X_test)
