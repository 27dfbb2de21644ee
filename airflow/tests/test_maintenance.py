"""Retention (mlops_pipelines.maintenance) against the real MLflow server and MySQL.

The functions are scoped to the test's own models and experiments (the
platform_maintenance DAG passes no scope: everything). Reusable by a chaos
tier: they only need TEST_MLFLOW_URI / TEST_MYSQL_URL (and
TEST_SERVICES_COMPOSE for `mlflow gc`).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from mlops_pipelines import maintenance

ROOT = Path(__file__).resolve().parents[2]
DAY_MS = 86_400_000


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def client(mlflow_uri):
    from mlflow import MlflowClient

    return MlflowClient(mlflow_uri)


def run(client, experiment, role, days_old, parent=None, **tags):
    start = int(time.time() * 1000) - int(days_old * DAY_MS)
    all_tags = {"training.role": role, **tags} if role else dict(tags)
    if parent:
        all_tags["mlflow.parentRunId"] = parent
    created = client.create_run(experiment, start_time=start, tags=all_tags)
    return created.info.run_id


# --- registry -----------------------------------------------------------------


@pytest.mark.mlflow
def test_registry_keeps_the_newest_and_every_aliased_version(client):
    name = unique("t-retention")
    experiment = client.create_experiment(unique("t-retention-exp"))
    client.create_registered_model(name)
    for _ in range(7):
        source_run = run(client, experiment, "candidate", 0)
        client.create_model_version(name, f"runs:/{source_run}/model", run_id=source_run)
    client.set_registered_model_alias(name, "production", "2")
    client.set_registered_model_alias(name, "challenger", "3")

    deleted = maintenance.prune_registry(client, keep=3, names=[name])

    # 7 versions, keep 3: the 4 oldest that hold no alias go; the aliased 2 and 3 stay and
    # count towards the 3 kept, with the newest.
    remaining = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
    assert deleted == {name: ["1", "4", "5", "6"]}
    assert remaining == [2, 3, 7]
    assert client.get_model_version_by_alias(name, "production").version == "2"
    # Nothing more to delete.
    assert maintenance.prune_registry(client, keep=3, names=[name]) == {}


# --- runs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def crafted_runs(client):
    """Training runs of one experiment, aged by their start time."""
    experiment = client.create_experiment(unique("t-runs-retention"))
    ids = {}
    ids["old_parent_registered"] = run(client, experiment, "parent", 40)
    ids["old_registered"] = run(client, experiment, "candidate", 40, ids["old_parent_registered"])
    ids["old_sibling"] = run(client, experiment, "candidate", 40, ids["old_parent_registered"])
    ids["old_parent"] = run(client, experiment, "parent", 40)
    ids["old_candidate"] = run(client, experiment, "candidate", 40, ids["old_parent"])
    ids["new_candidate"] = run(client, experiment, "candidate", 2, ids["old_parent"])
    ids["old_running"] = run(client, experiment, "candidate", 40, ids["old_parent"])
    ids["old_not_training"] = run(client, experiment, None, 40)
    for key, run_id in ids.items():
        if key != "old_running":
            client.set_terminated(run_id, "FINISHED")
    # The winner of the old parent has a logged model, with an artifact in the store.
    model = client.create_logged_model(experiment, source_run_id=ids["old_candidate"], name="model")
    client.set_tag(ids["old_candidate"], "training.model_id", model.model_id)
    ids["old_candidate_model"] = model.model_id
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{unique('artifact')}.txt"
    path.write_text("candidate artifact")
    client.log_artifact(ids["old_candidate"], str(path))
    name = unique("t-runs-retention-model")
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{ids['old_registered']}/model", run_id=ids["old_registered"])
    return experiment, ids


@pytest.mark.mlflow
def test_old_unregistered_training_runs_are_deleted_with_their_logged_models(client, crafted_runs):
    experiment, ids = crafted_runs
    deleted = maintenance.prune_runs(client, keep_days=30, experiment_ids=[experiment])

    assert sorted(deleted["runs"]) == sorted([ids["old_sibling"], ids["old_parent"], ids["old_candidate"]])
    assert deleted["logged_models"] == [ids["old_candidate_model"]]
    for key in ("old_sibling", "old_parent", "old_candidate"):
        assert client.get_run(ids[key]).info.lifecycle_stage == "deleted", key
    # Registered (and its parent), recent, still running, or not a training run: kept.
    for key in ("old_registered", "old_parent_registered", "new_candidate", "old_running", "old_not_training"):
        assert client.get_run(ids[key]).info.lifecycle_stage == "active", key
    # Idempotent: a second pass finds nothing.
    assert maintenance.prune_runs(client, keep_days=30, experiment_ids=[experiment]) == {"runs": [], "logged_models": []}


@pytest.mark.mlflow
def test_mlflow_gc_in_the_mlflow_container_removes_deleted_runs_for_good(client, crafted_runs):
    """scripts/retention.sh mlflow: the rows and the artifacts of the soft-deleted runs go."""
    from mlflow.exceptions import MlflowException

    compose = os.environ.get("TEST_SERVICES_COMPOSE")
    if not compose:
        pytest.skip("TEST_SERVICES_COMPOSE is not set (scripts/test.sh sets it)")
    experiment, ids = crafted_runs
    if client.get_run(ids["old_candidate"]).info.lifecycle_stage != "deleted":
        maintenance.prune_runs(client, keep_days=30, experiment_ids=[experiment])
    assert client.list_artifacts(ids["old_candidate"])  # still in the store after the soft delete
    result = subprocess.run(
        [str(ROOT / "scripts" / "retention.sh"), "mlflow"],
        env={**os.environ, "COMPOSE": compose, "MLFLOW_GC_OLDER_THAN": "0s"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for key in ("old_sibling", "old_parent", "old_candidate"):
        with pytest.raises(MlflowException, match="(?i)not found|does not exist"):
            client.get_run(ids[key])
    assert client.get_run(ids["old_registered"]).info.lifecycle_stage == "active"
    _assert_no_objects_under(f"{experiment}/{ids['old_candidate']}/")


def _assert_no_objects_under(prefix: str) -> None:
    url = os.environ.get("TEST_MINIO_URL")
    if not url:
        return
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id="minioadmin",
        aws_secret_access_key="change-me-minio",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    listing = s3.list_objects_v2(Bucket="mlflow", Prefix=prefix)
    assert listing.get("KeyCount", 0) == 0, [o["Key"] for o in listing.get("Contents", [])]


# --- predictions ----------------------------------------------------------------

PREDICTIONS_DDL = """
CREATE TABLE prediction_requests (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    predicted_at DATETIME(3) NOT NULL,
    dataset VARCHAR(64) NOT NULL,
    model_version VARCHAR(32) NULL,
    INDEX ix_prediction_requests_dataset_time (dataset, predicted_at)
)
"""


@pytest.mark.mysql
def test_predictions_older_than_the_window_are_deleted_in_chunks(mysql_engine, caplog):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    with mysql_engine.begin() as conn:
        conn.execute(text(PREDICTIONS_DDL))
        rows = [{"at": (now - timedelta(days=40, minutes=i)).replace(tzinfo=None), "ds": "penguins"} for i in range(12)]
        rows += [{"at": (now - timedelta(days=29, hours=23)).replace(tzinfo=None), "ds": "covertype"} for _ in range(5)]
        conn.execute(text("INSERT INTO prediction_requests (predicted_at, dataset) VALUES (:at, :ds)"), rows)

    with caplog.at_level("INFO", logger="mlops_pipelines.maintenance"):
        deleted = maintenance.prune_predictions(mysql_engine, keep_days=30, chunk=5, now=now)

    assert deleted == 12
    assert "deleted 12 rows" in caplog.text and "in 3 chunks of at most 5" in caplog.text
    with mysql_engine.connect() as conn:
        left = conn.execute(text("SELECT dataset, COUNT(*) FROM prediction_requests GROUP BY dataset")).all()
    assert left == [("covertype", 5)]


@pytest.mark.mysql
def test_shadow_predictions_older_than_the_window_are_deleted_too(mysql_engine):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    with mysql_engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE shadow_predictions (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, predicted_at DATETIME(3) NOT NULL)")
        )
        rows = [{"at": (now - timedelta(days=days)).replace(tzinfo=None)} for days in (45, 31, 29, 1)]
        conn.execute(text("INSERT INTO shadow_predictions (predicted_at) VALUES (:at)"), rows)
    assert "shadow_predictions" in maintenance.PREDICTION_TABLES
    assert maintenance.prune_predictions(mysql_engine, keep_days=30, now=now, table="shadow_predictions") == 2
    with mysql_engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM shadow_predictions")).scalar_one() == 2


@pytest.mark.mysql
def test_no_predictions_table_yet_is_nothing_to_do(mysql_engine):
    assert maintenance.prune_predictions(mysql_engine, keep_days=30) == 0


# --- task logs ------------------------------------------------------------------


def test_task_log_files_older_than_the_window_are_deleted(tmp_path):
    now = time.time()
    old = tmp_path / "dag_id=penguins_train" / "run_id=old" / "task_id=prepare" / "attempt=1.log"
    new = tmp_path / "dag_id=penguins_train" / "run_id=new" / "task_id=prepare" / "attempt=1.log"
    for path, age_days in ((old, 31), (new, 1)):
        path.parent.mkdir(parents=True)
        path.write_text("log")
        for folder in (path, *path.parents):
            if folder == tmp_path:
                break
            os.utime(folder, (now - age_days * 86400, now - age_days * 86400))
    os.utime(tmp_path / "dag_id=penguins_train", (now - 31 * 86400, now - 31 * 86400))

    deleted = maintenance.prune_log_files(tmp_path, keep_days=30, now=now)

    assert deleted == [str(old)]
    assert new.exists() and not (tmp_path / "dag_id=penguins_train" / "run_id=old").exists()
    assert maintenance.prune_log_files(tmp_path / "missing", keep_days=30) == []
