"""When the monitor fires the retraining asset, against real MySQL and MLflow."""

import json
from datetime import datetime, timedelta

import pytest
from monitoring_helpers import covertype_rows, ingest, train, unique
from sqlalchemy import select

from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.monitoring import retrain
from mlops_pipelines.monitoring.served import production
from mlops_pipelines.storage import utcnow
from mlops_pipelines.tables import FEATURE_DRIFT, MODEL_QUALITY, RETRAIN_TRIGGERS, create_tables

pytestmark = [pytest.mark.mysql, pytest.mark.mlflow]

# No reason fires by accident: each test turns on the one it checks.
QUIET = retrain.RetrainPolicy(accuracy_margin=0.05, accuracy_batches=3, drift_share=0.5, min_new_rows_fraction=100.0, pending_minutes=120)


def add_quality(engine, served, accuracies, at):
    with engine.begin() as conn:
        for i, accuracy in enumerate(accuracies):
            conn.execute(
                MODEL_QUALITY.insert(),
                {
                    "dataset": "covertype",
                    "model_name": served.name,
                    "model_version": served.version,
                    "batch_key": unique("b"),
                    "rows_scored": 100,
                    "accuracy": accuracy,
                    "f1_macro": accuracy,
                    "baseline_accuracy": served.baseline_accuracy,
                    "measured_at": at + timedelta(seconds=i),
                },
            )


def add_drift(engine, served, check_id, flags, at, source="ingested"):
    with engine.begin() as conn:
        for i, drifted in enumerate(flags):
            conn.execute(
                FEATURE_DRIFT.insert(),
                {
                    "check_id": check_id,
                    "source": source,
                    "feature": f"f{i}",
                    "dataset": "covertype",
                    "model_name": served.name,
                    "model_version": served.version,
                    "window_start": at - timedelta(hours=1),
                    "window_end": at,
                    "method": "psi",
                    "statistic": 0.5 if drifted else 0.01,
                    "drifted": drifted,
                    "rows_compared": 100,
                    "measured_at": at,
                },
            )


def test_policy_from_settings_with_param_overrides():
    from mlops_pipelines.settings import PipelineSettings

    policy = retrain.RetrainPolicy.from_settings(PipelineSettings(), {"retrain_accuracy_batches": 2, "retrain_drift_share": None})
    assert policy == retrain.RetrainPolicy(accuracy_batches=2)
    with pytest.raises(ValueError, match="min_new_rows_fraction"):
        retrain.RetrainPolicy(min_new_rows_fraction=0)


def test_first_model_then_no_reason_until_one_is_found(mysql_engine, client):
    create_tables(mysql_engine)
    name = unique("t-retrain")
    now = utcnow()
    empty = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, now, name)
    assert empty.trigger is None and "empty" in empty.why

    # A fresh platform: clean rows, no version at all -> train the first model.
    ingest(mysql_engine, covertype_rows(300, seed=1), 1, 1, datetime(2026, 11, 30, 12, 0, 0))
    first = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, now, name)
    assert first.trigger.reason == "no_model" and first.trigger.model_version == ""
    fired = retrain.record(mysql_engine, first.trigger, now)
    assert fired["reason"] == "no_model" and fired["detail"]["clean_max_id"] == 300
    # While that retraining has registered nothing, nothing fires again...
    pending = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, now + timedelta(minutes=5), name)
    assert pending.trigger is None and "registered no version yet" in pending.why
    # ... unless it is older than pending_minutes (the run failed): then it fires again.
    assert retrain.decide(mysql_engine, client, COVERTYPE, QUIET, now + timedelta(minutes=121), name).trigger.reason == "no_model"

    train(mysql_engine, name)
    served = production(client, name)
    assert served.snapshot_max_id == 300 and served.training_rows == 300 and served.baseline_accuracy is not None
    later = utcnow() + timedelta(seconds=2)
    assert retrain.decide(mysql_engine, client, COVERTYPE, QUIET, later, name).trigger is None

    # accuracy_drop: only N batches in a row below baseline - margin fire.
    low = served.baseline_accuracy - 0.2
    add_quality(mysql_engine, served, [low, low, served.baseline_accuracy], later)
    assert retrain.decide(mysql_engine, client, COVERTYPE, QUIET, later, name).trigger is None
    add_quality(mysql_engine, served, [low, low, low], later + timedelta(seconds=10))
    drop = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, later + timedelta(seconds=20), name)
    assert drop.trigger.reason == "accuracy_drop" and drop.trigger.model_version == served.version
    assert [b["accuracy"] for b in drop.trigger.detail["batches"]] == [pytest.approx(low)] * 3
    assert drop.trigger.detail["baseline_accuracy"] == pytest.approx(served.baseline_accuracy)
    retrain.record(mysql_engine, drop.trigger, later + timedelta(seconds=20))
    # The same evidence does not fire twice (nor while the retraining is pending, nor after it lapsed).
    assert retrain.decide(mysql_engine, client, COVERTYPE, QUIET, later + timedelta(minutes=200), name).trigger is None

    # drift: the latest check after the last trigger with more than drift_share drifted.
    at = later + timedelta(minutes=201)
    add_drift(mysql_engine, served, "check-1", [True, False, False, False], at)
    assert retrain.decide(mysql_engine, client, COVERTYPE, QUIET, at, name).trigger is None
    add_drift(mysql_engine, served, "check-2", [True, True, True, False], at + timedelta(seconds=5))
    found = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, at + timedelta(seconds=5), name)
    assert found.trigger.reason == "drift" and found.trigger.detail["drifted_share"] == {"ingested": 0.75}
    assert found.trigger.detail["drifted_features"] == ["f0", "f1", "f2"]
    retrain.record(mysql_engine, found.trigger, at + timedelta(seconds=5))

    # new_rows: 20 % of the 300 training rows arrived since the last trigger's clean_max_id.
    policy = retrain.RetrainPolicy(min_new_rows_fraction=0.2, pending_minutes=0)
    ingest(mysql_engine, covertype_rows(59, seed=2), 1, 2, datetime(2026, 11, 30, 12, 5, 0))
    assert retrain.decide(mysql_engine, client, COVERTYPE, policy, at + timedelta(minutes=1), name).trigger is None
    ingest(mysql_engine, covertype_rows(1, seed=3), 1, 3, datetime(2026, 11, 30, 12, 10, 0))
    rows = retrain.decide(mysql_engine, client, COVERTYPE, policy, at + timedelta(minutes=1), name)
    assert rows.trigger.reason == "new_rows" and rows.trigger.detail["new_rows"] == 60 and rows.trigger.detail["since_clean_id"] == 300

    with mysql_engine.connect() as conn:
        recorded = conn.execute(select(RETRAIN_TRIGGERS.c.reason, RETRAIN_TRIGGERS.c.detail).order_by(RETRAIN_TRIGGERS.c.id)).all()
    assert [r.reason for r in recorded] == ["no_model", "accuracy_drop", "drift"]
    assert json.loads(recorded[1].detail)["margin"] == 0.05


def test_a_version_without_production_waits_for_a_person(mysql_engine, client):
    create_tables(mysql_engine)
    name = unique("t-retrain-unpromoted")
    ingest(mysql_engine, covertype_rows(300, seed=1), 1, 1, datetime(2026, 11, 30, 12, 0, 0))
    train(mysql_engine, name)
    client.delete_registered_model_alias(name, "production")
    decision = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, utcnow(), name)
    assert decision.trigger is None and "a person promotes" in decision.why


def test_a_retried_task_finds_the_trigger_its_run_recorded(mysql_engine):
    create_tables(mysql_engine)
    trigger = retrain.Trigger("covertype", "drift", {"airflow_run": "monitor_drift/manual__1"}, "m", "1")
    retrain.record(mysql_engine, trigger, utcnow())
    assert retrain.trigger_of_run(mysql_engine, "covertype", "monitor_drift/manual__1")["reason"] == "drift"
    assert retrain.trigger_of_run(mysql_engine, "covertype", "monitor_drift/manual__2") is None
