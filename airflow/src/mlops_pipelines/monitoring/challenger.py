"""Champion against challenger: paired scores on rows neither version trained on, and what they recommend.

Covertype: every labelled batch that both the production and the challenger
version can be scored on (quality.score_batch) adds its rows here; the
comparison is computed again over all of the pair's rows with every batch.
Penguins gets no new labels: its challenger is compared once, at registration,
on the snapshot's stable test rows neither version trained on.

Where it is kept, per pair (production version, challenger version):
- MySQL: `challenger_batches` (per batch), `challenger_rows` (per row: label and
  both predictions), `challenger_comparison` (one row, replaced with every batch);
- MLflow: the challenger version's `comparison.*` tags and its description, one
  plain sentence (comparison.sentence).

With `promotion.auto_promote` = true on the challenger version (the training
run's auto_promote), a `promote` recommendation moves @production to it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from mlflow import MlflowClient
from mlops_pipelines import mlflow_names as names
from mlops_pipelines.comparison import PROMOTE, Comparison, ComparisonPolicy, compare, sentence
from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.mlflow_helpers import move_production
from mlops_pipelines.monitoring.served import ServedVersion
from mlops_pipelines.monitoring.store import insert_ignoring_duplicates
from mlops_pipelines.splitting import unseen_by
from mlops_pipelines.storage import utcnow
from mlops_pipelines.tables import CHALLENGER_BATCHES, CHALLENGER_COMPARISON, CHALLENGER_ROWS

log = logging.getLogger(__name__)

# Datasets whose labels keep arriving in batches: compared on those. The others at registration.
LABELLED_BATCHES = frozenset({"covertype"})
# The batch_key of the rows a registration-time comparison scored.
REGISTRATION_KEY = "registration"


def _pair(dataset: str, name: str, production: str, challenger: str) -> dict[str, str]:
    return {"dataset": dataset, "model_name": name, "production_version": production, "challenger_version": challenger}


def _where(table, name: str, production: str, challenger: str):
    return (table.c.model_name == name, table.c.production_version == production, table.c.challenger_version == challenger)


def store_batch(
    engine: Engine,
    pair: dict[str, str],
    batch: dict[str, Any],
    ids: ArrayLike,
    actual: ArrayLike,
    production: ArrayLike,
    challenger: ArrayLike,
) -> None:
    """One batch's paired predictions and per-version scores (idempotent: a retry writes nothing twice).

    `batch`: batch_key, group_number, batch_number, rows_excluded, the four
    scores, mlflow_run_id.
    """
    columns = (np.asarray(a).tolist() for a in (ids, actual, production, challenger))
    rows = [
        {
            **pair,
            "batch_key": batch["batch_key"],
            "clean_id": int(i),
            "actual": str(a),
            "production_prediction": str(p),
            "challenger_prediction": str(c),
        }
        for i, a, p, c in zip(*columns, strict=True)
    ]
    with engine.begin() as conn:
        insert_ignoring_duplicates(
            conn, CHALLENGER_BATCHES, [{**pair, **batch, "rows_scored": len(rows), "measured_at": utcnow().replace(microsecond=0)}]
        )
        insert_ignoring_duplicates(conn, CHALLENGER_ROWS, rows)


def rows_compared(engine: Engine, name: str, production: str, challenger: str) -> int:
    """How many rows the pair's comparison holds so far (0: none yet)."""
    found = stored_comparison(engine, name, production, challenger)
    return int(found["rows_compared"]) if found else 0


def paired_rows(engine: Engine, name: str, production: str, challenger: str) -> pd.DataFrame:
    """Every stored row of the pair: clean_id, actual and both predictions, in id order."""
    t = CHALLENGER_ROWS
    query = (
        select(t.c.clean_id, t.c.actual, t.c.production_prediction, t.c.challenger_prediction)
        .where(*_where(t, name, production, challenger))
        .order_by(t.c.clean_id)
    )
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).all(), columns=["clean_id", "actual", "production_prediction", "challenger_prediction"])


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value


def update_comparison(
    engine: Engine, client: MlflowClient, dataset: str, name: str, production: str, challenger: str, policy: ComparisonPolicy
) -> dict[str, Any] | None:
    """Compare the pair again over all its stored rows; store and publish the result (None: no rows yet)."""
    stored = store_comparison(engine, dataset, name, production, challenger, policy)
    if stored is None:
        return None
    row, result = stored
    extra = {"batches": row["batches"], "rows_excluded": row["rows_excluded"]}
    publish(client, name, challenger, production, result, extra, row["sentence"])
    promote_on_recommendation(client, name, challenger, result.recommendation, row["sentence"])
    return row


def store_comparison(
    engine: Engine, dataset: str, name: str, production: str, challenger: str, policy: ComparisonPolicy
) -> tuple[dict[str, Any], Comparison] | None:
    """The pair's comparison over all its stored rows, as its `challenger_comparison` row (None: no rows yet)."""
    frame = paired_rows(engine, name, production, challenger)
    if frame.empty:
        return None
    result = compare(frame["actual"], frame["production_prediction"], frame["challenger_prediction"], policy)
    b = CHALLENGER_BATCHES
    with engine.connect() as conn:
        batches, excluded = conn.execute(
            select(func.count(), func.coalesce(func.sum(b.c.rows_excluded), 0)).where(*_where(b, name, production, challenger))
        ).one()
    text = sentence(result, challenger, production, policy)
    row = {
        **_pair(dataset, name, production, challenger),
        **{k: (_finite(v) if isinstance(v, float) else v) for k, v in result.as_dict().items() if k != "rows"},
        "rows_compared": result.rows,
        "batches": int(batches),
        "rows_excluded": int(excluded),
        "sentence": text,
        "updated_at": utcnow().replace(microsecond=0),
    }
    t = CHALLENGER_COMPARISON
    with engine.begin() as conn:  # one row per pair, replaced
        conn.execute(delete(t).where(*_where(t, name, production, challenger)))
        conn.execute(t.insert(), [row])
    return row, result


def stored_comparison(engine: Engine, name: str, production: str, challenger: str) -> dict[str, Any] | None:
    """The pair's `challenger_comparison` row, or None before its first compared batch."""
    t = CHALLENGER_COMPARISON
    with engine.connect() as conn:
        found = conn.execute(select(t).where(*_where(t, name, production, challenger))).mappings().first()
    return None if found is None else dict(found)


def publish(
    client: MlflowClient, name: str, challenger: str, production: str, result: Comparison, extra: dict[str, int], text: str
) -> None:
    """The comparison as the challenger version's `comparison.*` tags, the sentence as its description."""
    values: dict[str, Any] = {"production_version": production, **extra, **result.as_dict()}
    for key, value in values.items():
        shown = f"{value:.6f}" if isinstance(value, float) else str(value)
        client.set_model_version_tag(name, challenger, names.comparison_tag(key), shown)
    client.update_model_version(name, challenger, description=text)
    log.info("%s: %s", name, text)


def promote_on_recommendation(client: MlflowClient, name: str, challenger: str, recommendation: str, reason: str) -> bool:
    """Move @production to the challenger on `promote`, if its training run allowed automatic promotion."""
    if recommendation != PROMOTE:
        return False
    version = client.get_model_version(name, challenger)
    if (version.tags or {}).get(names.TAG_AUTO_PROMOTE) != "true":
        log.info("%s v%s is recommended for promotion; auto_promote is off, a person moves @%s", name, challenger, names.PRODUCTION_ALIAS)
        return False
    why = f"auto_promote on a {PROMOTE} recommendation: {reason}"[:4000]
    client.set_model_version_tag(name, challenger, names.TAG_PROMOTION_DECISION, names.PROMOTED)
    client.set_model_version_tag(name, challenger, names.TAG_PROMOTION_REASON, why)
    move_production(client, name, challenger)
    log.info("%s version %s promoted: %s", name, challenger, why)
    return True


def _predict(uri: str, X: pd.DataFrame) -> np.ndarray:
    import mlflow.sklearn

    return np.asarray(mlflow.sklearn.load_model(uri).predict(X))


def compare_at_registration(
    engine: Engine | None,
    client: MlflowClient,
    contract: DatasetContract,
    snapshot_rows: tuple[ArrayLike, ArrayLike, pd.DataFrame],
    production: ServedVersion,
    challenger: ServedVersion,
    policy: ComparisonPolicy,
) -> dict[str, Any] | None:
    """Compare a new challenger with production on the snapshot's rows neither trained on (datasets without new labels).

    `snapshot_rows`: the snapshot's clean ids, fingerprints and contract-typed frame, aligned.

    None, with a log line, when production's training rows are unknown.
    """
    if production.trained_on is None or challenger.trained_on is None:
        log.warning("%s: the rows production v%s trained on are unknown: no comparison", production.name, production.version)
        return None
    all_ids, keys, frame = snapshot_rows
    unseen = unseen_by(np.asarray(all_ids).tolist(), np.asarray(keys).tolist(), [production.trained_on, challenger.trained_on])
    rows = frame[unseen]
    ids = np.asarray(all_ids)[unseen]
    if rows.empty:
        text = f"Challenger v{challenger.version} vs production v{production.version}: no row neither trained on, nothing to compare: undecided."
        client.update_model_version(production.name, challenger.version, description=text)
        return None
    X, y = rows[contract.feature_names], rows[contract.target]
    p, c = _predict(production.uri, X), _predict(challenger.uri, X)
    if engine is not None:
        pair = _pair(contract.name, production.name, production.version, challenger.version)
        store_batch(engine, pair, batch_scores(REGISTRATION_KEY, None, int((~unseen).sum()), y, p, c, None), ids, y, p, c)
        return update_comparison(engine, client, contract.name, production.name, production.version, challenger.version, policy)
    result = compare(y, p, c, policy)
    text = sentence(result, challenger.version, production.version, policy)
    publish(
        client, production.name, challenger.version, production.version, result, {"batches": 0, "rows_excluded": int((~unseen).sum())}, text
    )
    promote_on_recommendation(client, production.name, challenger.version, result.recommendation, text)
    return {**result.as_dict(), "sentence": text}


def batch_scores(key: str, batch, excluded: int, y, p, c, run_id: str | None) -> dict[str, Any]:
    from sklearn.metrics import f1_score

    y, p, c = (np.asarray(a).astype(str) for a in (y, p, c))
    return {
        "batch_key": key,
        "group_number": getattr(batch, "group_number", None),
        "batch_number": getattr(batch, "batch_number", None),
        "rows_excluded": excluded,
        "production_accuracy": float((p == y).mean()),
        "challenger_accuracy": float((c == y).mean()),
        "production_f1_macro": float(f1_score(y, p, average="macro", zero_division=0)),
        "challenger_f1_macro": float(f1_score(y, c, average="macro", zero_division=0)),
        "mlflow_run_id": run_id,
    }
