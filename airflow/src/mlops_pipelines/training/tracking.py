"""MLflow records of a training run: one parent run per DAG run, one child run per candidate.

A candidate's run holds its cross-validation scores; the chosen candidate's run
also gets the refit model and its test-split scores (tasks.refit_best).

Runs carry the Airflow dag_id and run_id as tags, so a retried task finds the
runs its earlier try made instead of duplicating them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from typing import Any

import pandas as pd
from mlflow.entities import Run
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import ColSpec, Schema

from mlflow import MlflowClient
from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.mlflow_helpers import quote
from mlops_pipelines.mlflow_names import (
    FEATURE_SPEC_FILE,
    FEATURE_SPEC_METADATA_KEY,
    LOGGED_MODEL_NAME,
    ROLE_PARENT,
    TAG_DAG_ID,
    TAG_DATASET,
    TAG_FAMILY,
    TAG_INDEX,
    TAG_PARENT,
    TAG_ROLE,
    TAG_RUN_ID,
)

# Types in our pipelines that skops does not trust by itself (found with
# skops.io.get_untrusted_types): a numpy dtype, a forest's trees, an SVM's
# probability calibration, and numpy's diff function (engineered features, see
# features.py). Listed, not computed
# per model, so an unexpected type fails the refit instead of being trusted
# silently. The list is saved in the MLmodel file: inference trusts the same.
SKOPS_TRUSTED_TYPES = [
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "numpy.diff",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
]


def find_parent_run(client: MlflowClient, experiment: str, dag_id: str, run_id: str) -> Run | None:
    found = client.search_runs(
        [experiment],
        filter_string=f"tags.`{TAG_ROLE}` = {quote(ROLE_PARENT)} and tags.`{TAG_DAG_ID}` = {quote(dag_id)} and tags.`{TAG_RUN_ID}` = {quote(run_id)}",
        max_results=1,
    )
    return found[0] if found else None


def parent_run(client: MlflowClient, experiment: str, dag_id: str, run_id: str, dataset: str, tags: dict[str, str] | None = None) -> Run:
    """The DAG run's parent run: the one an earlier try created, or a new one, created with `tags` too
    (so that no reader finds the new run without them)."""
    return find_parent_run(client, experiment, dag_id, run_id) or client.create_run(
        experiment,
        run_name=run_id,
        tags={TAG_ROLE: ROLE_PARENT, TAG_DAG_ID: dag_id, TAG_RUN_ID: run_id, TAG_DATASET: dataset, **(tags or {})},
    )


def candidate_runs(client: MlflowClient, experiment: str, parent_run_id: str) -> list[Run]:
    """Child runs of a parent, in training order (family order is the caller's)."""
    runs = client.search_runs(
        [experiment],
        filter_string=f"tags.`{TAG_PARENT}` = {quote(parent_run_id)}",
        max_results=1000,
    )
    return sorted(runs, key=lambda r: (r.data.tags.get(TAG_FAMILY, ""), int(r.data.tags.get(TAG_INDEX, 0)), r.info.start_time))


def signature(contract: DatasetContract, X: pd.DataFrame, predictions: Iterable[Any]) -> ModelSignature:
    """Input and output schema inferred from the data, with every input column required.

    MLflow infers a column with missing values as optional, i.e. one a request
    may leave out; the pipeline needs every column, so all are required and a
    nullable feature (penguin sex) is sent as null instead. The feature spec
    says which features are nullable.
    """
    inferred = infer_signature(X, pd.Series(list(predictions), name=contract.target))
    inputs = Schema([ColSpec(spec.type, spec.name, required=True) for spec in inferred.inputs.inputs])
    return ModelSignature(inputs=inputs, outputs=inferred.outputs)


def input_example(X: pd.DataFrame, rows: int = 3) -> pd.DataFrame:
    # Complete rows: the example is what the UI and the tests send first.
    complete = X.dropna()
    return (complete if len(complete) else X).head(rows).reset_index(drop=True)


def pip_requirements() -> list[str]:
    """What loading the model needs, pinned to the versions it was trained with.

    Given explicitly: MLflow would otherwise infer them by loading each model
    in a subprocess, seconds per candidate.
    """
    import mlflow.sklearn

    return mlflow.sklearn.get_default_pip_requirements(include_skops=True)


def log_model(model, contract: DatasetContract, X_train: pd.DataFrame, family: str, params: dict[str, Any]) -> str:
    """Log a fitted pipeline as the active run's model; returns its model id."""
    import mlflow.sklearn

    example = input_example(X_train)
    info = mlflow.sklearn.log_model(
        model,
        name=LOGGED_MODEL_NAME,
        signature=signature(contract, X_train, model.predict(X_train.head(50))),
        input_example=example,
        # The feature spec travels with the model: inference and the UI read it
        # back from the registry (get_model_info(...).metadata) with no training code.
        metadata={FEATURE_SPEC_METADATA_KEY: contract.feature_spec(), "dataset": contract.name, "family": family},
        # skops (MLflow's default) rather than pickle: loading runs no code
        # beyond the types trusted here, which the inference service relies on.
        serialization_format="skops",
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
        pip_requirements=pip_requirements(),
        params={k: str(v) for k, v in params.items()},
        model_type=family,
    )
    # The same spec as a file next to the model, for people browsing artifacts.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, FEATURE_SPEC_FILE)
        with open(path, "w") as fh:
            json.dump(contract.feature_spec(), fh, indent=2)
        MlflowClient().log_model_artifact(info.model_id, path)
    return info.model_id
