"""Production and challenger scored side by side on real MySQL and MLflow: only rows neither trained on,
paired, compared, and the comparison published on the challenger version."""

import hashlib
from datetime import datetime

import pandas as pd
import pytest
from monitoring_helpers import covertype_rows, ingest, train, unique
from sqlalchemy import select

from mlops_pipelines import mlflow_names as names
from mlops_pipelines.comparison import ComparisonPolicy
from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.monitoring import quality
from mlops_pipelines.tables import CHALLENGER_BATCHES, CHALLENGER_COMPARISON, CHALLENGER_ROWS, CLEAN, MODEL_QUALITY, create_tables

pytestmark = [pytest.mark.mysql, pytest.mark.mlflow]

POLICY = ComparisonPolicy(min_rows=50, max_rows=5000, resamples=200)
FOREST = {"random_forest": {"n_estimators": [20], "max_depth": [8], "min_samples_leaf": [1]}}


def rows_of(engine, table):
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(select(table).order_by(table.c.id)).mappings().all())


def trained_ids(engine, tags) -> set[int]:
    """The clean ids a version trained on, worked out here from its tags and the documented hash."""
    seed, fraction, bound = tags["split.seed"], float(tags["split.test_fraction"]), int(tags["data.snapshot_max_id"])
    assert tags["split.method"] == "sha256-fingerprint"
    clean = rows_of(engine, CLEAN["covertype"])
    out = set()
    for row_id, fingerprint in zip(clean["id"], clean["fingerprint"], strict=True):
        position = int.from_bytes(hashlib.sha256(f"{seed}:{fingerprint}".encode()).digest()[:8], "big") / 2**64
        if row_id <= bound and position >= fraction:
            out.add(int(row_id))
    return out


def test_no_scored_row_is_one_either_version_trained_on(mysql_engine, client):
    create_tables(mysql_engine)
    name = unique("t-challenger")
    ingest(mysql_engine, covertype_rows(400, seed=1), 1, 1, datetime(2026, 12, 1, 12, 0, 0))
    first = train(mysql_engine, name)
    assert first["promoted"]
    # A batch arrives, and a new version is trained on it before the batch is scored (a late scoring task).
    late = ingest(mysql_engine, covertype_rows(300, seed=2), 1, 2, datetime(2026, 12, 1, 12, 5, 0))
    second = train(mysql_engine, name, FOREST)
    assert not second["promoted"]
    assert client.get_model_version_by_alias(name, names.CHALLENGER_ALIAS).version == second["version"]
    assert client.get_model_version_by_alias(name, names.PRODUCTION_ALIAS).version == first["version"]
    fresh = ingest(mysql_engine, covertype_rows(300, seed=3), 1, 3, datetime(2026, 12, 1, 12, 10, 0))

    late_scored = quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(late), name, POLICY)
    fresh_scored = quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(fresh), name, POLICY)

    seen = trained_ids(mysql_engine, client.get_model_version(name, first["version"]).tags) | trained_ids(
        mysql_engine, client.get_model_version(name, second["version"]).tags
    )
    paired = rows_of(mysql_engine, CHALLENGER_ROWS)
    assert len(paired) > 300 and not set(paired["clean_id"]) & seen
    clean = rows_of(mysql_engine, CLEAN["covertype"])
    batch_ids = {2: set(clean["id"][400:700]), 3: set(clean["id"][700:])}
    batches = rows_of(mysql_engine, CHALLENGER_BATCHES).set_index("batch_number")
    # The late batch: only the challenger's test rows are left to score; the rest are counted.
    assert batches.loc[2, "rows_scored"] == len(batch_ids[2] - seen) < 300 * 0.4
    assert batches.loc[2, "rows_excluded"] == len(batch_ids[2] & seen) > 0
    assert batches.loc[3, "rows_scored"] == 300 and batches.loc[3, "rows_excluded"] == 0
    # Production's live accuracy is scored on the same rows.
    quality_rows = rows_of(mysql_engine, MODEL_QUALITY).set_index("batch_number")
    assert quality_rows.loc[2, "rows_scored"] == batches.loc[2, "rows_scored"] and late_scored["rows_scored"] < 300
    assert fresh_scored["rows_scored"] == 300
    excluded_param = client.get_run(late_scored["mlflow_run_id"]).data.params["rows_excluded"]
    assert int(excluded_param) == batches.loc[2, "rows_excluded"]

    # The accumulated comparison: one row for the pair, the same figures on the version and its description.
    (comparison,) = rows_of(mysql_engine, CHALLENGER_COMPARISON).to_dict("records")
    assert comparison["rows_compared"] == len(paired) and comparison["batches"] == 2
    assert comparison["production_version"] == first["version"] and comparison["challenger_version"] == second["version"]
    right_p = (paired["production_prediction"] == paired["actual"]).mean()
    right_c = (paired["challenger_prediction"] == paired["actual"]).mean()
    assert comparison["accuracy_diff"] == pytest.approx(right_c - right_p)
    assert comparison["accuracy_ci_low"] <= comparison["accuracy_diff"] <= comparison["accuracy_ci_high"]
    version = client.get_model_version(name, second["version"])
    assert version.tags[names.TAG_COMPARISON_RECOMMENDATION] == comparison["recommendation"]
    assert int(version.tags[names.comparison_tag("rows")]) == len(paired)
    assert version.description == comparison["sentence"]
    assert version.description.startswith(f"Challenger v{second['version']} vs production v{first['version']} on {len(paired):,} rows")
    # The challenger's own monitoring run for the batch, paired with production's version.
    run = client.get_run(batches.loc[3, "mlflow_run_id"])
    assert run.data.tags[names.TAG_MONITOR_VERSION] == second["version"]
    assert run.data.tags[names.TAG_MONITOR_PRODUCTION_VERSION] == first["version"]

    # A retry writes nothing twice.
    quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(fresh), name, POLICY)
    assert len(rows_of(mysql_engine, CHALLENGER_ROWS)) == len(paired) and len(rows_of(mysql_engine, CHALLENGER_BATCHES)) == 2


def test_auto_promote_acts_on_a_promote_recommendation_only(mysql_engine, client):
    create_tables(mysql_engine)
    name = unique("t-challenger-auto")
    # Production learns from the low slopes only; the challenger from the whole mountain.
    ingest(mysql_engine, covertype_rows(400, seed=1, elevation=(1859, 2600)), 1, 1, datetime(2026, 12, 1, 12, 0, 0))
    first = train(mysql_engine, name, FOREST)
    ingest(mysql_engine, covertype_rows(600, seed=2), 1, 2, datetime(2026, 12, 1, 12, 5, 0))
    second = train(mysql_engine, name, FOREST, auto_promote=True, cv_folds=4)
    assert client.get_model_version(name, second["version"]).tags[names.TAG_AUTO_PROMOTE] == "true"
    fresh = ingest(mysql_engine, covertype_rows(400, seed=3), 1, 3, datetime(2026, 12, 1, 12, 10, 0))
    quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(fresh), name, POLICY)
    (comparison,) = rows_of(mysql_engine, CHALLENGER_COMPARISON).to_dict("records")
    assert comparison["recommendation"] == "promote" and comparison["accuracy_ci_low"] > 0
    assert client.get_model_version_by_alias(name, names.PRODUCTION_ALIAS).version == second["version"]
    promoted = client.get_model_version(name, second["version"])
    assert promoted.tags[names.TAG_PROMOTION_DECISION] == names.PROMOTED and names.CHALLENGER_ALIAS not in promoted.aliases
    assert first["version"] != second["version"]


def test_production_alone_is_scored_only_on_rows_it_did_not_train_on(mysql_engine, client):
    create_tables(mysql_engine)
    name = unique("t-unseen")
    ingest(mysql_engine, covertype_rows(400, seed=1), 1, 1, datetime(2026, 12, 1, 12, 0, 0))
    late = ingest(mysql_engine, covertype_rows(300, seed=2), 1, 2, datetime(2026, 12, 1, 12, 5, 0))
    first = train(mysql_engine, name)  # trained on the batch before it is scored
    scored = quality.score_batch(mysql_engine, client, COVERTYPE, quality.Batch.from_counts(late), name, POLICY)
    seen = trained_ids(mysql_engine, client.get_model_version(name, first["version"]).tags)
    batch = set(rows_of(mysql_engine, CLEAN["covertype"])["id"][400:])
    assert scored["rows_scored"] == len(batch - seen) and 0 < scored["rows_scored"] < 300 * 0.4
    assert int(client.get_run(scored["mlflow_run_id"]).data.params["rows_excluded"]) == len(batch & seen)
    assert rows_of(mysql_engine, CHALLENGER_ROWS).empty  # no challenger, no pairs
