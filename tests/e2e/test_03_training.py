"""Training through Airflow: grids tracked in MLflow, the best registered, production resolvable."""

from __future__ import annotations

import os

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

MODELS = {"penguins_train": "penguins-classifier", "covertype_train": "covertype-classifier"}


@pytest.fixture(scope="module")
def registry(stack):
    # Artifacts through the MLflow server (presigned URLs would name MinIO's
    # address inside the compose network).
    os.environ.setdefault("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    mlflow.set_tracking_uri(stack.mlflow)
    mlflow.set_registry_uri(stack.mlflow)
    return MlflowClient()


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
        experiment_names=[f"{dag_id.removesuffix('_train')}-training"], output_format="list",
        filter_string=f"tags.`airflow.run_id` = '{run['dag_run_id']}'",
    )
    roles = [r.data.tags.get("training.role") for r in runs]
    assert roles.count("parent") == 1, roles
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    assert len(children) == best["finished"] + len(best["failed"]) >= 10
    assert all({"accuracy", "f1_macro", "log_loss"} <= set(r.data.metrics) for r in children if r.info.status == "FINISHED")

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
    assert metrics["accuracy"] >= 0.97, metrics
