"""Live accuracy against real MySQL and MLflow: one model_quality row and one MLflow run per scored batch."""

from datetime import datetime

import numpy as np
import pytest
from monitoring_helpers import covertype_rows, ingest, train, unique
from sklearn.metrics import f1_score
from sqlalchemy import func, select

import mlflow
from mlops_pipelines import mlflow_names as names
from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.monitoring import quality
from mlops_pipelines.scoring import typed
from mlops_pipelines.tables import MODEL_QUALITY, create_tables

pytestmark = [pytest.mark.mysql, pytest.mark.mlflow]


def quality_rows(engine):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(MODEL_QUALITY).order_by(MODEL_QUALITY.c.id)).mappings()]


def test_no_production_version_scores_nothing(mysql_engine, client):
    create_tables(mysql_engine)
    counts = ingest(mysql_engine, covertype_rows(50), 1, 1, datetime(2026, 11, 30, 12, 0, 0))
    assert quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(counts), unique("t-none")) is None
    assert quality_rows(mysql_engine) == []


def test_a_batch_is_scored_once_against_the_production_versions_baseline(mysql_engine, client):
    create_tables(mysql_engine)
    name = unique("t-quality")
    ingest(mysql_engine, covertype_rows(400, seed=1), 1, 1, datetime(2026, 11, 30, 12, 0, 0))
    registered = train(mysql_engine, name)
    version = client.get_model_version(name, registered["version"])

    # A batch from the same distribution, and one further up the mountain.
    same_rows = covertype_rows(200, seed=2)
    same = ingest(mysql_engine, same_rows, 1, 2, datetime(2026, 11, 30, 12, 5, 0))
    shifted = ingest(mysql_engine, covertype_rows(200, seed=3, elevation=(3500, 3858)), 1, 3, datetime(2026, 11, 30, 12, 10, 0))
    first = quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(same), name)
    assert first["rows_scored"] == 200 and first["group_number"] == 1 and first["batch_number"] == 2
    assert first["batch_key"].startswith("g1-b2-") and first["model_version"] == registered["version"]
    assert first["baseline_accuracy"] == pytest.approx(float(version.tags["test_accuracy"]))
    assert first["baseline_f1_macro"] == pytest.approx(float(version.tags["test_f1_macro"]))
    # The scores are the registered model's on exactly the batch's rows, computed here on their own.
    model = mlflow.sklearn.load_model(f"models:/{name}/{registered['version']}")
    predicted = model.predict(typed(same_rows, COVERTYPE)[COVERTYPE.feature_names])
    assert first["accuracy"] == pytest.approx(float(np.mean(predicted == same_rows["Cover_Type"].to_numpy())))
    assert first["f1_macro"] == pytest.approx(f1_score(same_rows["Cover_Type"], predicted, average="macro", zero_division=0))

    # The MLflow run in covertype-monitoring, tagged with model, version, batch and group.
    run = client.get_run(first["mlflow_run_id"])
    assert run.data.tags[names.TAG_MONITOR_MODEL] == name and run.data.tags[names.TAG_MONITOR_VERSION] == registered["version"]
    assert run.data.tags[names.TAG_MONITOR_BATCH] == first["batch_key"] and run.data.tags[names.TAG_MONITOR_GROUP] == "1"
    assert run.data.tags[names.TAG_MONITOR_BATCH_NUMBER] == "2"
    assert run.data.metrics["accuracy"] == pytest.approx(first["accuracy"])
    assert client.get_experiment(run.info.experiment_id).name == "covertype-monitoring"

    # A retry writes nothing twice: neither a row nor a run.
    again = quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(same), name)
    assert again == first
    runs = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.`{names.TAG_MONITOR_BATCH}` = '{first['batch_key']}' and tags.`{names.TAG_MONITOR_MODEL}` = '{name}'",
    )
    assert len(runs) == 1

    worse = quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(shifted), name)
    assert worse["batch_number"] == 3 and worse["accuracy"] != pytest.approx(first["accuracy"])
    assert [r["batch_key"] for r in quality_rows(mysql_engine)] == [first["batch_key"], worse["batch_key"]]


def test_a_retry_after_the_run_was_logged_reuses_it(mysql_engine, client):
    create_tables(mysql_engine)
    name = unique("t-quality-retry")
    ingest(mysql_engine, covertype_rows(300, seed=1), 1, 1, datetime(2026, 11, 30, 12, 0, 0))
    train(mysql_engine, name)
    counts = ingest(mysql_engine, covertype_rows(100, seed=5), 2, 1, datetime(2026, 11, 30, 12, 5, 0))
    first = quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(counts), name)
    with mysql_engine.begin() as conn:  # the try failed after logging the run, before the row
        conn.execute(MODEL_QUALITY.delete())
    second = quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(counts), name)
    assert second["mlflow_run_id"] == first["mlflow_run_id"] and second["accuracy"] == pytest.approx(first["accuracy"])
    with mysql_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(MODEL_QUALITY)).scalar_one() == 1


def test_only_the_rows_of_this_fetch_are_scored(mysql_engine):
    create_tables(mysql_engine)
    rows = covertype_rows(60, seed=7)
    ingest(mysql_engine, rows.iloc[:40], 4, 1, datetime(2026, 11, 30, 12, 0, 0))
    # The same batch fetched again: 10 rows it sent before (not inserted again) and 20 new ones.
    counts = ingest(mysql_engine, rows.iloc[30:], 4, 1, datetime(2026, 11, 30, 12, 5, 0))
    assert counts["inserted"] == 20
    frame = quality.batch_rows(mysql_engine, COVERTYPE, quality.Batch.from_counts(counts))
    assert len(frame) == 20 and frame["Elevation"].tolist() == rows.iloc[40:]["Elevation"].tolist()
    assert list(frame.columns) == ["id", "fingerprint", *COVERTYPE.feature_names, "Cover_Type"]
    key = quality.batch_key(quality.Batch.from_counts(counts), frame["fingerprint"].tolist())
    assert key == quality.batch_key(quality.Batch.from_counts(counts), list(reversed(frame["fingerprint"].tolist())))
    assert len(key) <= 64
