"""The MLflow look-ups training, monitoring and maintenance share: a filter literal, an
experiment by name, a registered model's newest, production and challenger versions; moving @production."""

from __future__ import annotations

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from mlflow import MlflowClient
from mlops_pipelines.mlflow_names import CHALLENGER_ALIAS, PRODUCTION_ALIAS


def quote(value: str) -> str:
    """A string literal for an MLflow search filter."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def experiment_id(client: MlflowClient, name: str) -> str:
    """The experiment's id, created on first use (and restored if someone deleted it)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name)
        except MlflowException:
            # Another task created it in between.
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def latest_version(client: MlflowClient, name: str) -> ModelVersion | None:
    """The newest version of `name` (highest number, any alias); None before the first one."""
    # One version, not the whole list: a model retrained for months has hundreds.
    versions = client.search_model_versions(f"name = {quote(name)}", max_results=1, order_by=["version_number DESC"])
    return versions[0] if versions else None


def production_version(client: MlflowClient, name: str) -> ModelVersion | None:
    """The version holding @production; None when none does or the model does not exist."""
    return aliased_version(client, name, PRODUCTION_ALIAS)


def challenger_version(client: MlflowClient, name: str) -> ModelVersion | None:
    """The version holding @challenger, unless it holds @production too (promoted by hand): None then."""
    version = aliased_version(client, name, CHALLENGER_ALIAS)
    if version is None or PRODUCTION_ALIAS in (version.aliases or []):
        return None
    return version


def aliased_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def move_production(client: MlflowClient, name: str, version: str) -> None:
    """@production to the version; it no longer holds @challenger if it did."""
    client.set_registered_model_alias(name, PRODUCTION_ALIAS, version)
    if CHALLENGER_ALIAS in (client.get_model_version(name, version).aliases or []):
        client.delete_registered_model_alias(name, CHALLENGER_ALIAS)
