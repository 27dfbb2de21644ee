"""When the monitor fires the retraining asset, against real MySQL and MLflow."""

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from monitoring_helpers import covertype_rows, ingest, train, unique
from sqlalchemy import select

from mlops_pipelines import mlflow_names as names
from mlops_pipelines.comparison import ComparisonPolicy
from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.monitoring import challenger, retrain
from mlops_pipelines.monitoring.served import ServedVersion, production
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


def new_version(client, name):
    """What a retraining registers, without training again: a version of production's model, made
    @challenger by the registry's own decision (training.registry)."""
    from mlops_pipelines.training import registry

    source = client.get_model_version_by_alias(name, "production")
    model_id = source.source.removeprefix("models:/")
    version = client.create_model_version(name, source.source, run_id=source.run_id, model_id=model_id)
    registry.apply(client, name, version, registry.decide(client, name, version, "accuracy", auto_promote=False))
    return version.version


def compare_batch(
    engine, client, name, production_version, challenger_version, first_id, rows, policy, seed, changed=(50, 50), publish=True
):
    """One labelled batch scored by both versions, stored and compared by the real code (and published on the
    challenger version). The challenger differs from production on `changed` rows: (rows production gets right
    that it gets wrong, rows production gets wrong that it gets right); by default exactly as accurate."""
    rng = np.random.default_rng(seed)
    actual = rng.integers(1, 8, rows)
    production_prediction = np.where(np.arange(rows) % 5 == 0, (actual % 7) + 1, actual)  # right on 4 rows in 5
    challenger_prediction = production_prediction.copy()
    right = np.flatnonzero(production_prediction == actual)
    wrong = np.flatnonzero(production_prediction != actual)
    made_wrong, made_right = rng.choice(right, changed[0], replace=False), rng.choice(wrong, changed[1], replace=False)
    challenger_prediction[made_wrong] = (actual[made_wrong] % 7) + 1
    challenger_prediction[made_right] = actual[made_right]
    pair = {"dataset": "covertype", "model_name": name, "production_version": production_version, "challenger_version": challenger_version}
    key = unique("batch")
    scores = challenger.batch_scores(key, None, 0, actual, production_prediction, challenger_prediction, None)
    ids = range(first_id, first_id + rows)
    challenger.store_batch(engine, pair, scores, ids, actual, production_prediction, challenger_prediction)
    if publish:
        return challenger.update_comparison(engine, client, "covertype", name, production_version, challenger_version, policy)
    return challenger.store_comparison(engine, "covertype", name, production_version, challenger_version, policy)[0]


def in_production(engine, client, prefix):
    """A new model trained on 300 clean rows: its name and its production version."""
    create_tables(engine)
    name = unique(prefix)
    ingest(engine, covertype_rows(300, seed=1), 1, 1, datetime(2026, 11, 30, 12, 0, 0))
    train(engine, name)
    return name, production(client, name)


def triggers(engine):
    with engine.connect() as conn:
        rows = conn.execute(select(RETRAIN_TRIGGERS).order_by(RETRAIN_TRIGGERS.c.id)).mappings().all()
    return [{**r, "detail": json.loads(r["detail"])} for r in rows]


def test_a_reason_is_held_while_the_challenger_is_open_and_fires_once_it_is_decided(mysql_engine, client):
    name, served = in_production(mysql_engine, client, "t-retrain-hold")
    policy = ComparisonPolicy(min_rows=200, max_rows=600, resamples=100)
    at = utcnow() + timedelta(seconds=2)
    low = served.baseline_accuracy - 0.2
    add_quality(mysql_engine, served, [low] * 3, at)
    first = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, at + timedelta(seconds=5), name)
    assert first.trigger.reason == "accuracy_drop" and first.held is None and first.trigger.detail["latest_version"] == 1
    retrain.record(mysql_engine, first.trigger, at + timedelta(seconds=5))

    # Its retraining registers a challenger: the trigger has acted; the challenger is undecided.
    version = new_version(client, name)
    compare_batch(mysql_engine, client, name, served.version, version, 1, 300, policy, seed=1)
    add_quality(mysql_engine, served, [low] * 3, at + timedelta(seconds=10))
    held = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, at + timedelta(seconds=20), name)
    assert held.trigger is None and held.held.reason == "accuracy_drop"
    assert held.held.detail["held_by"] == {
        "challenger_version": version,
        "recommendation": "undecided",
        "rows_compared": 300,
        "awaiting": "rows neither version trained on",
    }
    assert f"challenger v{version} against production v{served.version} is undecided (300 rows compared)" in held.why
    assert retrain.hold(mysql_engine, held.held, at + timedelta(seconds=20)) is not None
    # Held again on the next batch: recorded once per reason and challenger.
    again = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, at + timedelta(seconds=30), name)
    assert retrain.hold(mysql_engine, again.held, at + timedelta(seconds=30)) is None
    assert [(t["status"], t["reason"]) for t in triggers(mysql_engine)] == [("acted", "accuracy_drop"), ("held", "accuracy_drop")]
    assert triggers(mysql_engine)[0]["detail"]["newest_version_seen"] == version

    # The comparison reaches max_rows without showing the challenger better: keep, and the reason fires.
    decided = compare_batch(mysql_engine, client, name, served.version, version, 301, 300, policy, seed=2)
    assert decided["recommendation"] == "keep" and decided["rows_compared"] == 600
    released = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, at + timedelta(seconds=40), name)
    assert released.trigger.reason == "accuracy_drop" and released.held is None
    assert [b["accuracy"] for b in released.trigger.detail["batches"]] == [pytest.approx(low)] * 3


def test_a_promote_recommendation_holds_until_a_person_promotes_or_the_challenger_expires(mysql_engine, client):
    name, served = in_production(mysql_engine, client, "t-retrain-promote")
    version = new_version(client, name)
    better = compare_batch(mysql_engine, client, name, served.version, version, 1, 300, ComparisonPolicy(), seed=1, changed=(10, 50))
    assert better["recommendation"] == "promote"
    at = utcnow() + timedelta(seconds=2)
    add_quality(mysql_engine, served, [served.baseline_accuracy - 0.2] * 3, at)
    waiting = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, at + timedelta(seconds=5), name)
    assert waiting.trigger is None and waiting.held.detail["held_by"]["awaiting"] == "a person to promote it"
    assert waiting.held.detail["held_by"]["rows_compared"] == 300
    # Nobody promotes it: RETRAIN_CHALLENGER_HOURS after its registration it no longer holds.
    expired = retrain.decide(mysql_engine, client, COVERTYPE, QUIET, utcnow() + timedelta(hours=25), name)
    assert expired.trigger.reason == "accuracy_drop" and expired.held is None
    # Promoted by a person (it is production now, not @challenger): nothing is open either.
    client.set_registered_model_alias(name, names.PRODUCTION_ALIAS, version)
    assert retrain.open_challenger(mysql_engine, client, COVERTYPE, production(client, name), QUIET, utcnow()) is None


def test_penguins_challengers_hold_nothing(mysql_engine, client):
    # Penguins gets no new labels: its comparison at registration is all the evidence there will be.
    served = ServedVersion("penguins-classifier", "1", "", utcnow(), None, None, None, None)
    assert retrain.open_challenger(mysql_engine, client, PENGUINS, served, QUIET, utcnow()) is None


def test_a_simulated_day_with_production_degraded_throughout_fires_once_per_decision(mysql_engine, client):
    """288 five-minute Covertype batches, every one below production's baseline, through the real decision
    code: each trigger's retraining registers a challenger (no better than production) one batch later, scored
    beside production on each batch of 1,000 rows until the comparison decides."""
    name, served = in_production(mysql_engine, client, "t-retrain-day")
    # Compared in MySQL only (what the decision reads), fewer resamples: the MLflow side is the test above's.
    policy, comparison = retrain.RetrainPolicy(min_new_rows_fraction=100.0), ComparisonPolicy(resamples=100)
    training, open_challenger, decided, next_id = False, None, [], 1
    for step in range(288):
        add_quality(mysql_engine, served, [served.baseline_accuracy - 0.1], utcnow())
        if training:  # the retraining fired on the last batch has registered its version
            open_challenger, training = new_version(client, name), False
        if open_challenger:
            result = compare_batch(
                mysql_engine, client, name, served.version, open_challenger, next_id, 1000, comparison, seed=step, publish=False
            )
            next_id += 1000
            if result["recommendation"] != "undecided":
                decided.append((open_challenger, result["recommendation"], result["rows_compared"]))
                open_challenger = None
        decision = retrain.decide(mysql_engine, client, COVERTYPE, policy, utcnow(), name)
        if decision.held:
            retrain.hold(mysql_engine, decision.held, utcnow())
        if decision.trigger:
            assert open_challenger is None, f"batch {step}: fired while v{open_challenger} is undecided"
            retrain.record(mysql_engine, decision.trigger, utcnow())
            training = True

    rows = triggers(mysql_engine)
    fired = [t for t in rows if t["status"] != retrain.HELD]
    held = [t for t in rows if t["status"] == retrain.HELD]
    versions = client.search_model_versions(f"name = '{name}'")
    print(f"\n288 batches: {len(fired)} triggers fired, {len(held)} held, {len(decided)} decisions, {len(versions)} versions")
    # One trigger per decision: the first fired on production alone, each later one after the last challenger was decided.
    # Each trigger's version is decided, open, or (fired on the last batch) not registered yet.
    assert len(fired) == len(decided) + (open_challenger is not None) + training
    assert len(decided) >= 20 and all(recommendation == "keep" and rows == 5000 for _, recommendation, rows in decided)
    assert len(versions) == 1 + len(decided) + (open_challenger is not None) <= len(fired) + 1
    # Every hold names the challenger it waited for, once each; every trigger but a pending last one has acted.
    assert len({t["detail"]["held_by"]["challenger_version"] for t in held}) == len(held) > 0
    assert all(t["status"] == retrain.ACTED for t in fired[: len(fired) - (1 if training else 0)])
    assert client.get_model_version_by_alias(name, "production").version == served.version
