"""The model registry: a version per DAG run's best candidate, and the `production` alias.

A person promotes a version by setting the alias in the MLflow UI; this module
sets it only on the first version (so a fresh platform serves at once) and,
with auto_promote, when a new version beats production on the same test data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mlflow.entities.model_registry import ModelVersion

import mlflow
from mlflow import MlflowClient
from mlops_pipelines.mlflow_helpers import production_version, quote
from mlops_pipelines.mlflow_names import (
    NOT_PROMOTED,
    PRODUCTION_ALIAS,
    PROMOTED,
    PROMOTION_PREFIX,
    TAG_PROMOTION_DECISION,
    TAG_PROMOTION_REASON,
)
from mlops_pipelines.scoring import score
from mlops_pipelines.training.data import Split
from mlops_pipelines.training.faults import is_infrastructure_error
from mlops_pipelines.training.selection import PromotionDecision, auto_promotion

log = logging.getLogger(__name__)


def registered_by_run(client: MlflowClient, name: str, run_id: str) -> ModelVersion | None:
    """The version this run registered already (a retried or cleared task), if any."""
    existing = client.search_model_versions(f"name = {quote(name)} and run_id = {quote(run_id)}")
    return min(existing, key=lambda v: int(v.version)) if existing else None


def register(client: MlflowClient, name: str, model_id: str, run_id: str, tags: dict[str, Any]) -> ModelVersion:
    """A new version of `name` from a logged model; the existing one if this run registered it already."""
    existing = registered_by_run(client, name, run_id)
    if existing is not None:
        return existing
    return mlflow.register_model(f"models:/{model_id}", name, tags={k: str(v) for k, v in tags.items()})


def score_version(name: str, version: str, split: Split, metric: str, classes: Sequence[Any]) -> float:
    """A registered version's score on the given test split, loaded the way inference loads it."""
    import mlflow.sklearn

    # Downloads go through the MLflow server: MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD
    # is false in every Airflow container (docker-compose.yaml).
    model = mlflow.sklearn.load_model(f"models:/{name}/{version}")
    return score(model, split.X_test, split.y_test, classes)[metric]


def decide(
    client: MlflowClient, name: str, new: ModelVersion, split: Split, metric: str, auto_promote: bool, margin: float, classes: Sequence[Any]
) -> PromotionDecision:
    current = production_version(client, name)
    if current is None:
        return PromotionDecision(True, f"no version holds @{PRODUCTION_ALIAS} yet: the first one takes it", metric)
    if current.version == new.version:
        return PromotionDecision(False, f"version {new.version} already holds @{PRODUCTION_ALIAS}", metric)
    if not auto_promote:
        return PromotionDecision(
            False,
            f"auto_promote is off: version {current.version} stays in production until a person moves the alias",
            metric,
        )
    # Both versions are scored here, loaded from the registry, on this run's test
    # split. Production may have seen some of these rows in its own training
    # split: that favours it, so a promotion is never due to leakage.
    new_score = score_version(name, new.version, split, metric, classes)
    try:
        production_score = score_version(name, current.version, split, metric, classes)
    except Exception as exc:  # e.g. a version trained on another feature set
        if is_infrastructure_error(exc):  # MLflow or its store failed, not the version: the task retries
            raise
        return PromotionDecision(
            False,
            f"production version {current.version} could not be scored on this test split: {exc}",
            metric,
            new_score=new_score,
            margin=margin,
        )
    decision = auto_promotion(new_score, production_score, metric, margin)
    return PromotionDecision(
        decision.promote,
        f"version {new.version} vs production version {current.version}: {decision.reason}",
        metric,
        new_score,
        production_score,
        margin,
    )


SCORE_KEYS = ("new_score", "production_score", "margin")


def recorded_decision(version: ModelVersion, metric: str) -> PromotionDecision | None:
    """The decision an earlier attempt of this DAG run recorded on the version.

    A retried or cleared register task must repeat it: deciding again would find
    the version already in production and record "not_promoted" without scores.
    """
    tags = version.tags or {}
    if TAG_PROMOTION_DECISION not in tags:
        return None
    scores = {key: float(tags[PROMOTION_PREFIX + key]) for key in SCORE_KEYS if PROMOTION_PREFIX + key in tags}
    return PromotionDecision(tags[TAG_PROMOTION_DECISION] == PROMOTED, tags.get(TAG_PROMOTION_REASON, ""), metric, **scores)


def apply(client: MlflowClient, name: str, version: ModelVersion, decision: PromotionDecision) -> None:
    """Record the decision on the version, then move the alias if it says so.

    Recorded first, so that an attempt failing in between leaves the decision
    for the retry (`recorded_decision`), which moves the alias again.
    """
    tags = {TAG_PROMOTION_DECISION: PROMOTED if decision.promote else NOT_PROMOTED, TAG_PROMOTION_REASON: decision.reason[:4000]}
    for key in SCORE_KEYS:
        value = getattr(decision, key)
        if value is not None:
            tags[PROMOTION_PREFIX + key] = f"{value:.6f}"
    for key, value in tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    if decision.promote:
        client.set_registered_model_alias(name, PRODUCTION_ALIAS, version.version)
    log.info("%s version %s: %s (%s)", name, version.version, tags[TAG_PROMOTION_DECISION], decision.reason)
