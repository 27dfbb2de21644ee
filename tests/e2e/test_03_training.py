"""Training through Airflow: one mapped task per candidate, cross-validated in MLflow, the best
refit, tested once and registered, production resolvable."""

from __future__ import annotations

import pandas as pd
import pytest

import mlflow

MODELS = {"penguins_train": "penguins-classifier", "covertype_train": "covertype-classifier"}
# Candidates of the default grids: logistic regression 6, random forest 4, SVM 6
# (off by default for Covertype, too slow on its full size).
CANDIDATES = {"penguins_train": 16, "covertype_train": 10}
METRICS = ("accuracy", "f1_macro", "log_loss")
CV = {f"cv_{m}_{s}" for m in METRICS for s in ("mean", "std")}
TEST = {f"test_{m}" for m in METRICS}


def wait_for_running_runs(airflow, dag_id):
    """Ingestion updates the clean-data assets, which start training runs by themselves."""
    for run in airflow.runs(dag_id):
        if run["state"] not in ("success", "failed"):
            airflow.wait_for_run(dag_id, run["dag_run_id"])


@pytest.mark.parametrize("dag_id", list(MODELS))
def test_train_dag_registers_a_production_model(airflow, registry, dag_id):
    wait_for_running_runs(airflow, dag_id)
    run = airflow.run(dag_id)
    best = airflow.xcom(dag_id, run["dag_run_id"], "register_best")
    name = MODELS[dag_id]
    assert best, "register_best returned nothing"

    # One parent run for the DAG run, a child run per candidate, all tagged with it.
    runs = mlflow.search_runs(
        experiment_names=[f"{dag_id.removesuffix('_train')}-training"],
        output_format="list",
        filter_string=f"tags.`airflow.run_id` = '{run['dag_run_id']}'",
    )
    roles = [r.data.tags.get("training.role") for r in runs]
    assert roles.count("parent") == 1, roles
    # KILLED: a try of a candidate task that died and was retried (its retry has the run that counts).
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") and r.info.status != "KILLED"]
    keys = sorted(r.data.tags["training.candidate"] for r in children)
    assert len(keys) == len(set(keys)) == CANDIDATES[dag_id] == best["finished"] + len(best["failed"]), keys
    finished = [r for r in children if r.info.status == "FINISHED"]
    assert len(finished) == best["finished"] and all(CV <= set(r.data.metrics) for r in finished)
    # Only the chosen candidate was scored on the test split; its run holds the registered model.
    tested = [r for r in children if TEST & set(r.data.metrics)]
    assert [r.info.run_id for r in tested] == [best["best"]["run_id"]]
    if best["registered"]:
        version = registry.get_model_version(name, best["version"])
        assert version.run_id == best["best"]["run_id"]
        # How much of the grid the version saw: all of it (no task failed for good).
        assert (version.tags["candidates_evaluated"], version.tags["candidates_total"]) == (str(CANDIDATES[dag_id]),) * 2
        assert version.tags["partial_grid"] == "false"
    else:
        # The asset-triggered run before it trained on the same rows with the same grid and code.
        assert best["skipped"].startswith("data, grid and code unchanged since version"), best["skipped"]
        assert registry.get_run(best["best"]["run_id"]).data.tags["registration_skipped"] == best["skipped"]
        version = max(registry.search_model_versions(f"name = '{name}'"), key=lambda v: int(v.version))
        parent = next(r for r in runs if r.data.tags.get("training.role") == "parent")
        assert version.tags["data.digest"] == parent.data.params["data.digest"]
    assert CV | TEST <= set(version.tags), version.tags
    assert CV | TEST <= set(registry.get_run(version.run_id).data.metrics)

    # The Airflow grid: one mapped instance of train_candidate per candidate, named by its key.
    instances = airflow.get(
        f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances", params={"task_id": "train_candidate", "limit": 100}
    ).json()["task_instances"]
    mapped = [t for t in instances if t["task_id"] == "train_candidate"]
    assert sorted(t["map_index"] for t in mapped) == list(range(CANDIDATES[dag_id])), mapped
    assert sorted(t["rendered_map_index"] for t in mapped) == keys
    assert all(t["state"] == "success" for t in mapped), [(t["rendered_map_index"], t["state"]) for t in mapped]

    production = registry.get_model_version_by_alias(name, "production")
    model = mlflow.pyfunc.load_model(f"models:/{name}@production")
    example = model.input_example
    frame = example if isinstance(example, pd.DataFrame) else pd.DataFrame(example)
    predictions = model.predict(frame)
    assert len(predictions) == len(frame)
    print(f"\n{name}: production is version {production.version}")


def test_penguins_model_is_accurate(registry):
    version = registry.get_model_version_by_alias("penguins-classifier", "production")
    metrics = registry.get_run(version.run_id).data.metrics
    assert metrics["test_accuracy"] >= 0.97 and metrics["cv_accuracy_mean"] >= 0.95, metrics


def test_a_training_run_on_unchanged_data_registers_nothing(airflow, registry):
    name = MODELS["penguins_train"]
    wait_for_running_runs(airflow, "penguins_train")
    before = sorted(int(v.version) for v in registry.search_model_versions(f"name = '{name}'"))
    run = airflow.run("penguins_train")
    result = airflow.xcom("penguins_train", run["dag_run_id"], "register_best")
    assert result["registered"] is False and result["version"] is None, result
    assert result["skipped"].startswith(f"data, grid and code unchanged since version {before[-1]}")
    assert registry.get_run(result["best"]["run_id"]).data.tags["registration_skipped"] == result["skipped"]
    assert sorted(int(v.version) for v in registry.search_model_versions(f"name = '{name}'")) == before
