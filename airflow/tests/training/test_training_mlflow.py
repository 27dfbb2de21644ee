"""Service tests against a real MLflow server (MySQL backend, MinIO artifacts): TEST_MLFLOW_URI.

Each test trains into its own experiment and registered model (unique names),
through the same task functions the DAG runs.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from training_helpers import unique

from mlops_pipelines import mlflow_names as names
from mlops_pipelines import scoring
from mlops_pipelines.comparison import ComparisonPolicy
from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.training import families, tasks, tracking
from mlops_pipelines.training.config import TrainingConfig
from mlops_pipelines.training.data import split
from mlops_pipelines.training.grids import Candidate
from mlops_pipelines.training.pipelines import build_preprocessor

pytestmark = pytest.mark.mlflow

SMALL = {
    "logistic_regression": {"C": [1.0], "class_weight": [None]},
    "random_forest": {"n_estimators": [10], "max_depth": [4], "min_samples_leaf": [1]},
    "svm": {"C": [1.0], "kernel": ["rbf"], "gamma": ["scale"]},
}
CV = {f"cv_{m}_{s}" for m in ("accuracy", "f1_macro", "log_loss") for s in ("mean", "std")}
TEST = {"test_accuracy", "test_f1_macro", "test_log_loss"}
GOOD = {"logistic_regression": {"C": [1.0], "class_weight": [None]}}
# One tree of depth 1 tells at most two of the three species apart.
BAD = {"random_forest": {"n_estimators": [1], "max_depth": [1], "min_samples_leaf": [1]}}


def config_for(contract, model_name, grids, **settings):
    return TrainingConfig.for_contract(contract, experiment_name=f"{model_name}-training", model_name=model_name, grids=grids, **settings)


def train(contract, snapshot, config, run_id=None, policy=None, engine=None):
    """One DAG run's tasks, in order: prepare, one task per candidate, refit the best, register it."""
    run_id = run_id or unique("manual")
    parent = tasks.prepare(contract, snapshot, config, f"{contract.name}_train", run_id)
    trained = {
        c["key"]: tasks.train_candidate(contract, Candidate.from_dict(c), snapshot, config, parent) for c in tasks.list_candidates(config)
    }
    tasks.refit_best(contract, snapshot, config, parent)
    return parent, trained, tasks.register_best(contract, snapshot, config, parent, engine, policy)


def children(parent):
    return {
        r.data.tags["training.candidate"]: r for r in tracking.candidate_runs(client(), parent["experiment_id"], parent["parent_run_id"])
    }


def client():
    from mlflow import MlflowClient

    return MlflowClient()


def production(name):
    return client().get_model_version_by_alias(name, names.PRODUCTION_ALIAS).version


@pytest.fixture(scope="module")
def penguins_run(mlflow_uri, penguins_snapshot):
    config = config_for(PENGUINS, unique("t-penguins-classifier"), SMALL, engineered_features=True)
    parent, trained, registered = train(PENGUINS, penguins_snapshot, config)
    return {"config": config, "parent": parent, "trained": trained, "registered": registered, "snapshot": penguins_snapshot}


def test_parent_run_per_dag_run_with_settings_and_dataset(penguins_run):
    parent = client().get_run(penguins_run["parent"]["parent_run_id"])
    snapshot = penguins_run["snapshot"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["airflow.dag_id"] == "penguins_train"
    assert parent.data.tags["airflow.run_id"] == penguins_run["parent"]["run_id"]
    assert parent.data.params["selection_metric"] == "f1_macro" and parent.data.params["data.rows"] == "342"
    assert parent.data.params["cv_folds"] == "5" and parent.data.params["engineered_features"] == "True"
    assert json.loads(parent.data.params["grid.random_forest"]) == SMALL["random_forest"]
    (dataset_input,) = parent.inputs.dataset_inputs
    dataset = dataset_input.dataset
    assert json.loads(dataset.source) == {"uri": PENGUINS.clean_asset_uri, "table": "penguins_clean", "max_id": 342}
    assert dataset.source_type == "sql_table" and dataset.digest == snapshot.digest
    assert json.loads(dataset.profile)["num_rows"] == 342
    assert parent.data.tags["registered.version"] == penguins_run["registered"]["version"]
    best = penguins_run["registered"]["best"]
    assert parent.data.tags["best.run_id"] == best["run_id"]
    assert parent.data.metrics["best.test_f1_macro"] == best["metrics"]["test_f1_macro"]
    assert parent.data.metrics["best.cv_f1_macro_mean"] == best["metrics"]["cv_f1_macro_mean"]


def test_child_run_per_candidate_with_cv_scores_and_only_the_chosen_one_tested(penguins_run, penguins_snapshot):
    parent, best = penguins_run["parent"], penguins_run["registered"]["best"]
    parts = split(penguins_snapshot, 0.2, 42)
    runs = children(parent)
    assert sorted(runs) == ["logistic_regression-00", "random_forest-00", "svm-00"]
    for run in runs.values():
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parent["parent_run_id"]
        assert run.data.tags["airflow.dag_id"] == "penguins_train" and run.data.tags["airflow.run_id"] == parent["run_id"]
        assert CV | {"cv_fit_time_s_mean"} <= set(run.data.metrics)
        assert run.data.params["family"] == run.data.tags["training.family"]
        # Logged on every run, so MLflow's compare view shows the switch next to the CV scores.
        assert run.data.params["engineered_features"] == "True" and run.data.params["cv_folds"] == "5"
        contexts = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
        artifacts = [a.path for a in client().list_artifacts(run.info.run_id)]
        if run.info.run_id == best["run_id"]:
            # Refit on the whole training split, scored once on the test split, the model logged here.
            assert TEST <= set(run.data.metrics) and run.data.tags["training.refit"] == "true"
            # The test scores under their own names only, with the rows they rest on.
            assert run.data.metrics["test_rows"] == len(parts.X_test) and "accuracy" not in run.data.metrics
            assert run.data.tags["training.model_id"] == best["model_id"]
            assert set(contexts) == {"train", "test"} and json.loads(contexts["test"].profile)["num_rows"] == len(parts.X_test)
            assert names.CONFUSION_MATRIX_FILE in artifacts
        else:
            # Never scored on the test split, no model: only the chosen candidate is.
            assert not {m for m in run.data.metrics if m.startswith("test_")} and "accuracy" not in run.data.metrics
            assert "training.model_id" not in run.data.tags and names.CONFUSION_MATRIX_FILE not in artifacts
            assert set(contexts) == {"train"}
        assert contexts["train"].name == "penguins_clean-train" and json.loads(contexts["train"].profile)["num_rows"] == len(parts.X_train)
    forest = runs["random_forest-00"]
    assert forest.data.params["max_depth"] == "4" and forest.data.params["n_estimators"] == "10"
    # Penguins are easy: the required accuracy holds across the folds too.
    assert all(r.data.metrics["cv_accuracy_mean"] >= 0.95 for r in runs.values())
    assert best["metrics"]["test_accuracy"] >= 0.97


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
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id="minioadmin",
        aws_secret_access_key="change-me-minio",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    listing = s3.list_objects_v2(Bucket="mlflow", Prefix=prefix + "/")
    files = {obj["Key"].removeprefix(prefix + "/"): obj["Size"] for obj in listing.get("Contents", [])}
    assert {"MLmodel", "model.skops", "input_example.json", names.FEATURE_SPEC_FILE, "requirements.txt"} <= set(files)
    assert files["model.skops"] > 1000
    spec = s3.get_object(Bucket="mlflow", Key=f"{prefix}/{names.FEATURE_SPEC_FILE}")["Body"].read()
    assert json.loads(spec) == PENGUINS.feature_spec()


def test_first_version_takes_production_and_serves_from_the_registry(penguins_run):
    import mlflow

    name = penguins_run["config"].model_name
    assert penguins_run["registered"]["promoted"] is True
    assert production(name) == "1"
    version = client().get_model_version(name, "1")
    assert version.tags["promotion.decision"] == "promoted"
    model = mlflow.pyfunc.load_model(f"models:/{name}@{names.PRODUCTION_ALIAS}")
    example = model.input_example
    assert isinstance(example, pd.DataFrame) and list(example.columns) == PENGUINS.feature_names
    assert set(model.predict(example)) <= set(PENGUINS.classes)
    # A bird of unrecorded sex is sent with sex null; leaving the column out is
    # refused by the signature with a clear message, not deep in the pipeline.
    assert model.predict(example.head(1).assign(sex=None))[0] in PENGUINS.classes
    with pytest.raises(mlflow.exceptions.MlflowException, match="sex"):
        model.predict(example.drop(columns=["sex"]).head(1))
    info = mlflow.models.get_model_info(f"models:/{name}@{names.PRODUCTION_ALIAS}")
    assert info.metadata["feature_spec"] == PENGUINS.feature_spec()
    assert all(c.required for c in info.signature.inputs.inputs)


def test_the_logged_pipeline_computes_the_engineered_features_from_raw_rows(penguins_run):
    import mlflow.sklearn

    import mlflow

    name = penguins_run["config"].model_name
    pipeline = mlflow.sklearn.load_model(f"models:/{name}/1")
    branches = [n for n, _, _ in pipeline.named_steps["preprocess"].transformers_]
    assert branches[-3:] == ["bill_ratio", "body_mass_kg", "mass_flipper_ratio"]
    model = mlflow.pyfunc.load_model(f"models:/{name}/1")
    raw = model.input_example  # the raw fields only, as inference sends them
    assert list(raw.columns) == PENGUINS.feature_names
    assert set(model.predict(raw)) <= set(PENGUINS.classes)
    assert "numpy.diff" in mlflow.models.Model.load(f"models:/{name}/1").flavors["sklearn"]["skops_trusted_types"]


def test_retried_tasks_reuse_their_runs_and_version(penguins_run):
    config, snapshot, parent = penguins_run["config"], penguins_run["snapshot"], penguins_run["parent"]
    # A retried prepare finds the snapshot its first try fixed, and the same parent run.
    assert tasks.recorded_snapshot_id(config, "penguins_train", parent["run_id"]) == 342
    assert tasks.recorded_snapshot_id(config, "penguins_train", "another-run") is None
    again = tasks.prepare(PENGUINS, snapshot, config, "penguins_train", parent["run_id"])
    assert again["parent_run_id"] == parent["parent_run_id"]
    before = {k: r.info.run_id for k, r in children(parent).items()}
    candidate = Candidate.from_dict(tasks.list_candidates(config)[0])
    result = tasks.train_candidate(PENGUINS, candidate, snapshot, config, parent)
    assert result["run_id"] == before[candidate.key] and result["status"] == "FINISHED"
    refit = tasks.refit_best(PENGUINS, snapshot, config, parent)
    assert refit["model_id"] == penguins_run["registered"]["best"]["model_id"]  # not refit again
    assert {k: r.info.run_id for k, r in children(parent).items()} == before
    registered = tasks.register_best(PENGUINS, snapshot, config, parent)
    assert registered["version"] == penguins_run["registered"]["version"]
    assert [v.version for v in client().search_model_versions(f"name = '{config.model_name}'")] == ["1"]


def test_the_parent_run_says_why_it_trains_from_its_creation(mlflow_uri, penguins_snapshot):
    config = config_for(PENGUINS, unique("t-reason"), GOOD)
    events = [{"extra": {"reason": "accuracy_drop"}}]
    parent = tasks.prepare(PENGUINS, penguins_snapshot, config, "penguins_train", unique("asset"), "accuracy_drop", events)
    run = client().get_run(parent["parent_run_id"])
    assert run.data.tags[names.TAG_RETRAIN_REASON] == "accuracy_drop"
    assert names.RETRAIN_TRIGGER_FILE in [a.path for a in client().list_artifacts(run.info.run_id)]


def test_a_retried_candidate_task_resumes_the_run_its_dead_try_left_open(mlflow_uri, penguins_snapshot):
    config = config_for(PENGUINS, unique("t-dead-try"), GOOD)
    parent = tasks.prepare(PENGUINS, penguins_snapshot, config, "penguins_train", unique("manual"))
    candidate = Candidate.from_dict(tasks.list_candidates(config)[0])
    dead = client().create_run(
        parent["experiment_id"],
        tags={
            "mlflow.parentRunId": parent["parent_run_id"],
            "training.candidate": candidate.key,
            "training.family": candidate.family,
            "training.candidate_index": "0",
        },
    )  # a try killed mid-fit: RUNNING for ever
    result = tasks.train_candidate(PENGUINS, candidate, penguins_snapshot, config, parent)
    # The retry resumes the run its dead try left: one run per candidate.
    assert result["status"] == "FINISHED" and result["run_id"] == dead.info.run_id
    assert [(r["candidate"], r["run_id"]) for r in tasks.candidate_results(parent)] == [(candidate.key, result["run_id"])]


def test_a_failing_candidate_is_a_failed_child_run_and_the_others_go_on(mlflow_uri, penguins_snapshot, monkeypatch):
    import mlflow.sklearn

    original = families.FAMILIES["random_forest"]

    def make(params, random_state):
        if params["max_depth"] == 3:
            raise MemoryError("simulated: this candidate does not fit")
        return original.make(params, random_state)

    monkeypatch.setitem(families.FAMILIES, "random_forest", dataclasses.replace(original, make=make))
    grids = {"random_forest": {"n_estimators": [5], "max_depth": [2, 3, 4], "min_samples_leaf": [1]}}
    parent, trained, registered = train(PENGUINS, penguins_snapshot, config_for(PENGUINS, unique("t-failing"), grids))
    # The candidate's task returns (a retry would fail the same way); its run says why.
    assert trained["random_forest-01"]["status"] == "FAILED"
    assert trained["random_forest-01"]["error"] == "MemoryError: simulated: this candidate does not fit"
    runs = children(parent)
    assert runs["random_forest-01"].info.status == "FAILED"
    assert runs["random_forest-01"].data.tags["training.error"] == "MemoryError: simulated: this candidate does not fit"
    assert runs["random_forest-00"].info.status == runs["random_forest-02"].info.status == "FINISHED"
    assert registered["version"] == "1" and registered["best"]["candidate"] in ("random_forest-00", "random_forest-02")
    assert registered["failed"] == ["random_forest-01"] and registered["finished"] == 2
    # Refit with 2 jobs, logged to predict one request's rows without a thread pool.
    forest = mlflow.sklearn.load_model(f"models:/{registered['best']['model_id']}")
    assert forest.named_steps["classifier"].n_jobs == 1


def test_when_every_candidate_fails_the_run_fails_with_each_reason(mlflow_uri, penguins_snapshot, monkeypatch):
    original = families.FAMILIES["random_forest"]

    def make(params, random_state):
        raise ValueError(f"simulated for depth {params['max_depth']}")

    monkeypatch.setitem(families.FAMILIES, "random_forest", dataclasses.replace(original, make=make))
    grids = {"random_forest": {"n_estimators": [5], "max_depth": [2, 3], "min_samples_leaf": [1]}}
    config = config_for(PENGUINS, unique("t-allfail"), grids)
    parent = tasks.prepare(PENGUINS, penguins_snapshot, config, "penguins_train", unique("manual"))
    for c in tasks.list_candidates(config):
        assert tasks.train_candidate(PENGUINS, Candidate.from_dict(c), penguins_snapshot, config, parent)["status"] == "FAILED"
    with pytest.raises(tasks.AllCandidatesFailed) as failed:
        tasks.refit_best(PENGUINS, penguins_snapshot, config, parent)
    assert "nothing to register" in str(failed.value)
    assert "random_forest-00: ValueError: simulated for depth 2; random_forest-01: ValueError: simulated for depth 3" in str(failed.value)
    assert client().get_run(parent["parent_run_id"]).info.status == "FAILED"


class Leaky(ClassifierMixin, BaseEstimator):
    """Knows the test split's answers and nothing else: perfect on the test split, poor across CV folds.

    Chosen by a test-split score (the platform's former rule), never by a CV mean.
    """

    def __init__(self, answers=None, fallback=None):
        self.answers, self.fallback = answers, fallback

    def fit(self, X, y):
        self.classes_ = np.array(sorted(set(y)))
        return self

    def predict_proba(self, X):
        # Exact float keys: inside a CV fold the scaler is fit on other rows, so nothing matches.
        labels = [self.answers.get(float(v), self.fallback) for v in X[:, 0]]
        return np.array([[0.98 if c == label else 0.01 for c in self.classes_] for label in labels])

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def test_the_candidate_is_chosen_by_its_cv_mean_not_by_the_test_split(mlflow_uri, penguins_snapshot, monkeypatch):
    from sklearn.pipeline import Pipeline

    parts = split(penguins_snapshot, 0.2, 42)
    # The leaky candidate looks rows up by their first feature (bill length) as the pipeline scales it.
    scaled = build_preprocessor(PENGUINS).fit(parts.X_train).transform(parts.X_test)[:, 0]
    answers = {float(v): label for v, label in zip(scaled, parts.y_test)}
    leaky = dataclasses.replace(families.FAMILIES["svm"], make=lambda params, rs: Leaky(answers, "Adelie"))
    # Its test score, as the former rule saw it, is better than the honest candidate's.
    honest = Pipeline([("preprocess", build_preprocessor(PENGUINS)), ("classifier", Leaky(answers, "Adelie"))])
    leaky_test_f1 = scoring.score(honest.fit(parts.X_train, parts.y_train), parts.X_test, parts.y_test, PENGUINS.classes)["f1_macro"]
    monkeypatch.setitem(families.FAMILIES, "svm", leaky)
    grids = {**BAD, "svm": {"C": [1.0], "kernel": ["rbf"], "gamma": ["scale"]}}
    parent, trained, registered = train(PENGUINS, penguins_snapshot, config_for(PENGUINS, unique("t-cv-choice"), grids))
    assert registered["best"]["candidate"] == "random_forest-00"
    assert leaky_test_f1 > registered["best"]["metrics"]["test_f1_macro"]
    assert trained["svm-00"]["metrics"]["cv_f1_macro_mean"] < trained["random_forest-00"]["metrics"]["cv_f1_macro_mean"]
    # The leaky candidate was never scored on the test split.
    assert not {m for m in children(parent)["svm-00"].data.metrics if m.startswith("test_")}


def challenger(name):
    return client().get_model_version_by_alias(name, names.CHALLENGER_ALIAS).version


def test_penguins_challengers_are_compared_on_rows_neither_trained_on(mlflow_uri, penguins_snapshot):
    """Penguins gets no new labels: each challenger is compared at registration, and only a `promote` moves @production."""
    name = unique("t-promote")
    few = ComparisonPolicy(min_rows=30)

    def run(grids, policy=None, **settings):
        return train(PENGUINS, penguins_snapshot, config_for(PENGUINS, name, grids, **settings), policy=policy)[2]

    first = run(BAD, auto_promote=True)
    assert first["version"] == "1" and first["promoted"] and production(name) == "1" and first["comparison"] is None

    # Better, auto_promote off: @challenger, compared on the stable test rows (too few for the default policy).
    better_but_off = run(GOOD)
    assert not better_but_off["promoted"] and production(name) == "1" and challenger(name) == "2"
    assert "auto_promote is off" in better_but_off["decision"]["reason"]
    version = client().get_model_version(name, "2")
    test_rows = len(split(penguins_snapshot, 0.2, 42).X_test)  # same snapshot and rule: exactly the test rows
    assert int(version.tags[names.comparison_tag("rows")]) == test_rows < 200
    assert version.tags[names.TAG_COMPARISON_RECOMMENDATION] == "undecided"
    assert version.description.startswith(f"Challenger v2 vs production v1 on only {test_rows} rows neither trained on (fewer than the 200")
    assert version.description.endswith(": undecided.")

    # With auto_promote and a policy these rows can decide: promoted, and it no longer holds @challenger.
    better = run(GOOD, few, auto_promote=True, cv_folds=4)
    assert better["version"] == "3" and better["comparison"]["recommendation"] == "promote"
    assert production(name) == "3" and names.CHALLENGER_ALIAS not in client().get_model_version(name, "3").aliases
    assert client().get_model_version(name, "3").tags["promotion.decision"] == "promoted"

    # Weaker: kept, with its interval below zero; @challenger moves to it.
    worse = run(BAD, few, auto_promote=True)
    assert worse["comparison"]["recommendation"] == "keep" and worse["comparison"]["accuracy_ci_high"] < 0
    assert production(name) == "3" and challenger(name) == "4"

    # The same model again (same data, grid and refit): never promoted.
    equal = run(GOOD, few, auto_promote=True, cv_folds=3)
    assert equal["comparison"]["accuracy_diff"] == 0 and equal["comparison"]["recommendation"] != "promote"
    assert production(name) == "3" and challenger(name) == "5"
    parent_runs = client().search_runs(
        [client().get_experiment_by_name(f"{name}-training").experiment_id],
        filter_string="tags.`training.role` = 'parent'",
        order_by=["start_time DESC"],
        max_results=1,
    )
    assert parent_runs[0].data.tags["promotion.decision"] == "not_promoted"


@pytest.mark.mysql
def test_a_registration_comparison_is_stored_with_the_rows_it_scored(mysql_engine, mlflow_uri, penguins_snapshot):
    from sqlalchemy import select

    from mlops_pipelines.tables import CHALLENGER_COMPARISON, CHALLENGER_ROWS, create_tables

    create_tables(mysql_engine)
    name = unique("t-compared")
    train(PENGUINS, penguins_snapshot, config_for(PENGUINS, name, BAD))
    second = train(
        PENGUINS, penguins_snapshot, config_for(PENGUINS, name, GOOD), policy=ComparisonPolicy(min_rows=30), engine=mysql_engine
    )[2]
    assert second["comparison"]["recommendation"] == "promote" and not second["promoted"]  # auto_promote is off
    assert production(name) == "1" and challenger(name) == "2"
    with mysql_engine.connect() as conn:
        stored = [dict(r) for r in conn.execute(select(CHALLENGER_COMPARISON)).mappings()]
        ids = set(conn.execute(select(CHALLENGER_ROWS.c.clean_id)).scalars())
    parts = split(penguins_snapshot, 0.2, 42)
    assert ids == {int(penguins_snapshot.ids[i]) for i in parts.X_test.index}  # the stable test rows, nothing else
    assert len(stored) == 1 and stored[0]["rows_compared"] == len(ids) and stored[0]["batches"] == 1
    assert stored[0]["sentence"] == client().get_model_version(name, "2").description


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
    assert registered["promoted"] and trained["random_forest-00"]["status"] == "FINISHED"
    model = mlflow.pyfunc.load_model(f"models:/{config.model_name}@{names.PRODUCTION_ALIAS}")
    rows = model.input_example.assign(Soil_Type="C5151")
    assert set(model.predict(rows)) <= set(COVERTYPE.classes)
    inputs = {c.name: c.type.name for c in mlflow.models.get_model_info(f"models:/{config.model_name}/1").signature.inputs.inputs}
    assert inputs["Elevation"] == "long" and inputs["Soil_Type"] == "string"
    parts = split(covertype_snapshot, config.test_size, config.random_state)
    assert len(model.predict(parts.X_test)) == len(parts.X_test)
