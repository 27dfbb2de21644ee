"""The model registry: a version per DAG run's best candidate, and the `production` and `challenger` aliases.

A person promotes a version by setting @production in the MLflow UI; this module
sets it only on the first version (so a fresh platform serves at once) and,
with auto_promote, on a `promote` recommendation of the comparison with
production on rows neither trained on (monitoring.challenger). Every later
version is @challenger until the next one.
"""

from __future__ import annotations

import logging
from typing import Any

from mlflow.entities.model_registry import ModelVersion

import mlflow
from mlflow import MlflowClient
from mlops_pipelines.comparison import PROMOTE
from mlops_pipelines.mlflow_helpers import move_production, production_version, quote
from mlops_pipelines.mlflow_names import (
    CHALLENGER_ALIAS,
    NOT_PROMOTED,
    PRODUCTION_ALIAS,
    PROMOTED,
    TAG_PROMOTION_DECISION,
    TAG_PROMOTION_REASON,
)
from mlops_pipelines.training.selection import PromotionDecision

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


def decide(client: MlflowClient, name: str, new: ModelVersion, metric: str, auto_promote: bool) -> PromotionDecision:
    """The first version takes @production; every later one becomes @challenger, to be compared on rows neither trained on."""
    current = production_version(client, name)
    if current is None:
        return PromotionDecision(True, f"no version holds @{PRODUCTION_ALIAS} yet: the first one takes it", metric)
    if current.version == new.version:
        return PromotionDecision(False, f"version {new.version} already holds @{PRODUCTION_ALIAS}", metric)
    then = (
        f"auto_promote is on: it is promoted on a {PROMOTE} recommendation"
        if auto_promote
        else f"auto_promote is off: a person moves @{PRODUCTION_ALIAS}"
    )
    return PromotionDecision(
        False,
        f"version {new.version} is @{CHALLENGER_ALIAS}, compared with production version {current.version} on rows neither trained on; {then}",
        metric,
    )


def recorded_decision(version: ModelVersion, metric: str) -> PromotionDecision | None:
    """The decision an earlier attempt of this DAG run recorded on the version.

    A retried or cleared register task must repeat it: deciding again would find
    the version already in production and record "not_promoted".
    """
    tags = version.tags or {}
    if TAG_PROMOTION_DECISION not in tags:
        return None
    return PromotionDecision(tags[TAG_PROMOTION_DECISION] == PROMOTED, tags.get(TAG_PROMOTION_REASON, ""), metric)


def apply(client: MlflowClient, name: str, version: ModelVersion, decision: PromotionDecision) -> None:
    """Record the decision on the version, then move the alias if it says so.

    Recorded first, so that an attempt failing in between leaves the decision
    for the retry (`recorded_decision`), which moves the alias again.
    Not promoted, the version takes @challenger from the previous challenger;
    production is left alone.
    """
    tags = {TAG_PROMOTION_DECISION: PROMOTED if decision.promote else NOT_PROMOTED, TAG_PROMOTION_REASON: decision.reason[:4000]}
    for key, value in tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    if decision.promote:
        move_production(client, name, version.version)
    elif PRODUCTION_ALIAS not in (client.get_model_version(name, version.version).aliases or []):
        client.set_registered_model_alias(name, CHALLENGER_ALIAS, version.version)
    log.info("%s version %s: %s (%s)", name, version.version, tags[TAG_PROMOTION_DECISION], decision.reason)
