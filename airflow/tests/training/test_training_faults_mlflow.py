"""Infrastructure failures against the real MLflow server (TEST_MLFLOW_URI): they fail the task
so Airflow retries it; a candidate's own failure does not; a partial grid is tagged on its version;
unchanged data, grid and code register nothing.

Written to be reused by a chaos tier: the store outage pauses and unpauses the
minio service of TEST_SERVICES_COMPOSE.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import subprocess

import pytest
from mlflow.exceptions import MlflowException
from test_training_mlflow import GOOD, SMALL, children, client, config_for, train
from training_helpers import unique

from mlops_pipelines import mlflow_names as names
from mlops_pipelines.contracts import PENGUINS
from mlops_pipelines.training import families, faults, tasks
from mlops_pipelines.training.grids import Candidate

pytestmark = pytest.mark.mlflow

DEAD = "http://127.0.0.1:9"  # nothing listens: connection refused


@pytest.fixture
def few_retries(monkeypatch):
    """A dead service fails a call at once instead of after the client's default ~4 minutes of retries."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")


def first_candidate(config):
    return Candidate.from_dict(tasks.list_candidates(config)[0])


def test_mlflow_failing_while_a_candidate_is_logged_fails_its_task_and_the_retry_resumes_its_run(
    mlflow_uri, penguins_snapshot, monkeypatch, few_retries
):
    import mlflow

    config = config_for(PENGUINS, unique("t-infra"), GOOD)
    parent = tasks.prepare(PENGUINS, penguins_snapshot, config, "penguins_train", unique("manual"))
    candidate = first_candidate(config)
    real = tasks.cross_validate_candidate

    def lose_mlflow(*args, **kwargs):
        outcome = real(*args, **kwargs)
        mlflow.set_tracking_uri(DEAD)
        return outcome

    monkeypatch.setattr(tasks, "cross_validate_candidate", lose_mlflow)
    try:
        with pytest.raises(MlflowException) as raised:
            tasks.train_candidate(PENGUINS, candidate, penguins_snapshot, config, parent)
    finally:
        mlflow.set_tracking_uri(mlflow_uri)
    assert faults.is_infrastructure_error(raised.value)
    assert mlflow.active_run() is None  # the process can go on
    (failed,) = children(parent).values()
    # Ended FAILED (MLflow answered again), marked as the infrastructure's failure, not the model's.
    assert failed.info.status == "FAILED"
    assert failed.data.tags[names.TAG_ERROR_KIND] == faults.INFRASTRUCTURE
    assert "MlflowException" in failed.data.tags["training.error"]

    monkeypatch.setattr(tasks, "cross_validate_candidate", real)
    retried = tasks.train_candidate(PENGUINS, candidate, penguins_snapshot, config, parent)  # Airflow's retry
    assert retried["status"] == "FINISHED" and retried["run_id"] == failed.info.run_id
    (run,) = children(parent).values()  # still one run for the candidate, no RUNNING leftover
    assert run.info.status == "FINISHED" and "training.error" not in run.data.tags
    assert names.TAG_ERROR_KIND not in run.data.tags and "cv_accuracy_mean" in run.data.metrics


def test_a_candidate_failing_on_the_data_is_a_failed_candidate_and_the_grid_is_complete(mlflow_uri, penguins_snapshot, monkeypatch):
    from sklearn.svm import SVC

    # An SVM scikit-learn refuses to fit (C must be > 0; the grid's schema would not let a DAG Param through).
    original = families.FAMILIES["svm"]
    monkeypatch.setitem(families.FAMILIES, "svm", dataclasses.replace(original, make=lambda params, rs: SVC(C=-1.0, probability=True)))
    grids = {**GOOD, "svm": {"C": [1.0], "kernel": ["rbf"], "gamma": ["scale"]}}
    config = config_for(PENGUINS, unique("t-data-error"), grids)
    parent, trained, registered = train(PENGUINS, penguins_snapshot, config)
    assert trained["svm-00"]["status"] == "FAILED" and trained["svm-00"]["error_kind"] == faults.MODEL
    assert "InvalidParameterError" in trained["svm-00"]["error"] and "'C'" in trained["svm-00"]["error"]
    assert registered["registered"] and registered["failed"] == ["svm-00"]
    # Evaluated, even though it failed: the grid is complete.
    tags = client().get_model_version(config.model_name, registered["version"]).tags
    assert (tags["candidates_evaluated"], tags["candidates_total"], tags["partial_grid"]) == ("2", "2", "false")
    # A retry of its task keeps the failed run: it would fail the same way.
    again = tasks.train_candidate(PENGUINS, Candidate.from_dict(tasks.list_candidates(config)[1]), penguins_snapshot, config, parent)
    assert again["run_id"] == trained["svm-00"]["run_id"] and len(children(parent)) == 2


def run_grid(config, snapshot, skip=()):
    """One DAG run where the candidates in `skip` failed for good (every try of their task died)."""
    parent = tasks.prepare(PENGUINS, snapshot, config, "penguins_train", unique("manual"))
    for c in tasks.list_candidates(config):
        if c["key"] not in skip:
            tasks.train_candidate(PENGUINS, Candidate.from_dict(c), snapshot, config, parent)
    tasks.refit_best(PENGUINS, snapshot, config, parent)
    return parent, tasks.register_best(PENGUINS, snapshot, config, parent)


def test_partial_grid_is_tagged_and_unchanged_data_grid_and_code_register_nothing(mlflow_uri, penguins_snapshot, caplog):
    config = config_for(PENGUINS, unique("t-partial"), SMALL)
    name = config.model_name
    with caplog.at_level(logging.WARNING, logger="mlops_pipelines.training.tasks"):
        _, partial = run_grid(config, penguins_snapshot, skip={"svm-00"})
    assert partial["registered"] and partial["partial_grid"]
    assert "partial grid: 2 of 3 candidates were evaluated" in caplog.text and "svm-00" in caplog.text
    tags = client().get_model_version(name, partial["version"]).tags
    assert (tags["candidates_evaluated"], tags["candidates_total"], tags["partial_grid"]) == ("2", "3", "true")
    assert {"data.digest", "grid.digest", "code.version"} <= set(tags)

    # The same data, grid and code, now complete: registered, as the partial version may lack the best candidate.
    _, complete = run_grid(config, penguins_snapshot)
    assert complete["registered"] and complete["version"] == "2" and not complete["partial_grid"]

    # Once more with nothing changed: nothing registered, and the chosen run says why.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mlops_pipelines.training.tasks"):
        parent, same = run_grid(config, penguins_snapshot)
    assert not same["registered"] and same["version"] is None
    assert same["skipped"].startswith("data, grid and code unchanged since version 2")
    assert "registration skipped" in caplog.text
    assert client().get_run(same["best"]["run_id"]).data.tags["registration_skipped"] == same["skipped"]
    assert client().get_run(parent["parent_run_id"]).info.status == "FINISHED"
    assert sorted(v.version for v in client().search_model_versions(f"name = '{name}'")) == ["1", "2"]
    # Its register task retried: still nothing.
    assert not tasks.register_best(PENGUINS, penguins_snapshot, config, parent)["registered"]

    # Another grid on the same data: a new version.
    other = config_for(PENGUINS, name, GOOD)
    assert run_grid(other, penguins_snapshot)[1]["version"] == "3"


def test_the_artifact_store_failing_during_the_refit_fails_the_task_and_the_retry_succeeds(mlflow_uri, penguins_snapshot, few_retries):
    """The store hangs while the winner's model is logged: the client's bounded timeout fails the task, its retry logs the model."""
    compose = os.environ.get("TEST_SERVICES_COMPOSE")
    if not compose:
        pytest.skip("TEST_SERVICES_COMPOSE is not set (scripts/test.sh sets it)")
    config = config_for(PENGUINS, unique("t-store-down"), GOOD)
    parent = tasks.prepare(PENGUINS, penguins_snapshot, config, "penguins_train", unique("manual"))
    tasks.train_candidate(PENGUINS, first_candidate(config), penguins_snapshot, config, parent)
    # Paused: the store hangs, as a stuck server does (and the test stand-in keeps its objects,
    # which a stop would wipe). The client gives up after its bounded timeout and retries.
    subprocess.run([*shlex.split(compose), "pause", "minio"], check=True, capture_output=True, timeout=120)
    try:
        with pytest.raises(Exception) as raised:
            tasks.refit_best(PENGUINS, penguins_snapshot, config, parent)
    finally:
        subprocess.run([*shlex.split(compose), "unpause", "minio"], check=True, capture_output=True, timeout=120)
    assert faults.is_infrastructure_error(raised.value), repr(raised.value)
    # The candidate's CV result stands; no run left RUNNING.
    assert [r.info.status for r in children(parent).values()] == ["FINISHED"]
    refit = tasks.refit_best(PENGUINS, penguins_snapshot, config, parent)  # Airflow's retry
    assert refit["model_id"] and "test_f1_macro" in refit["metrics"]
    registered = tasks.register_best(PENGUINS, penguins_snapshot, config, parent)
    assert registered["registered"] and not registered["partial_grid"]
