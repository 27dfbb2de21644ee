"""Which failures are the infrastructure's (the task retries) and which the model's (a failed candidate)."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy.exc
from mlflow.exceptions import MlflowException, RestException

from mlops_pipelines.contracts import PENGUINS
from mlops_pipelines.training.config import TrainingConfig
from mlops_pipelines.training.faults import is_infrastructure_error
from mlops_pipelines.training.fingerprint import code_version, fingerprint, grid_digest, unchanged


def raised_from(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer from exc
    except Exception as caught:
        return caught


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectionError("refused"),
        requests.exceptions.ReadTimeout("read timed out"),
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("2003: Can't connect to MySQL server")),
        ConnectionResetError(104, "Connection reset by peer"),
        # What the MLflow client raises once its retries are spent on a dead server.
        MlflowException("API request to http://mlflow:5000/api/2.0/mlflow/runs/create failed with exception Max retries exceeded"),
        RestException({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "the store is down"}),
        RestException({"error_code": "INTERNAL_ERROR", "message": "botocore: Could not connect to the endpoint URL"}),
        raised_from(RuntimeError("while logging"), requests.exceptions.ConnectionError("refused")),
    ],
    ids=lambda e: type(e).__name__,
)
def test_service_failures_are_infrastructure(exc):
    assert is_infrastructure_error(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("Input X contains NaN"),
        MemoryError("this candidate does not fit"),  # its size, deterministic: a failed candidate
        FloatingPointError("overflow"),
        RestException({"error_code": "INVALID_PARAMETER_VALUE", "message": "Changing param values is not allowed"}),
        RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such run"}),
    ],
    ids=lambda e: type(e).__name__,
)
def test_model_and_request_errors_are_not(exc):
    assert not is_infrastructure_error(exc)


def config(**overrides):
    return TrainingConfig.for_contract(PENGUINS, experiment_name="e", model_name="m", **overrides)


def test_grid_digest_changes_with_the_candidates_and_the_training_settings_only():
    base = grid_digest(config())
    assert grid_digest(config()) == base
    assert grid_digest(config(cv_folds=3)) != base
    assert grid_digest(config(random_state=7)) != base
    assert grid_digest(config(grids={"random_forest": {"n_estimators": [10], "max_depth": [4], "min_samples_leaf": [1]}})) != base
    # Promotion settings do not change the model.
    assert grid_digest(config(auto_promote=True)) == base


def test_code_version_names_the_sources_and_scikit_learn():
    import sklearn

    version = code_version()
    assert version.startswith("src-") and version.endswith(f"+sklearn-{sklearn.__version__}")
    assert len(version.split("+")[0]) == len("src-") + 12


def test_unchanged_needs_all_three_tags_equal():
    current = fingerprint("d1", config())
    assert unchanged(dict(current), current)
    assert not unchanged({**current, "data.digest": "d2"}, current)
    assert not unchanged({"data.digest": "d1"}, current)  # a version from before these tags
