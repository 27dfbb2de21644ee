"""When the monitor asks for a retraining, and why (the retraining Asset's events, `retrain_triggers`).

Reasons, checked in this order, each only on evidence newer than the later of
the production version's registration and the last trigger (so one slip fires
once, not on every batch after it):

- accuracy_drop: the last `accuracy_batches` scored batches of the production
  version all more than `accuracy_margin` below its own test accuracy;
- drift: the latest drift check found more than `drift_share` of the
  features drifted, in either source;
- new_rows: the clean table gained at least `min_new_rows_fraction` x the
  production version's training rows since its snapshot (or since the last trigger);
- no_model: no version is registered at all and clean rows exist (a fresh
  platform still trains its first model after the first ingest).

A trigger fired less than `pending_minutes` ago with no version registered
since is still being acted on (a training run is queued or running): nothing
fires until it lands. A version exists but none holds @production: a person has
to promote one; nothing fires.

One open question at a time: while the version a retraining produced is an
open challenger (monitoring.challenger: its comparison with production is
`undecided`, or recommends `promote` and nobody has promoted it yet), a reason
that is found is recorded as `held`, once per reason and challenger, and fires
nothing. A decision releases it: the challenger promoted (it is production),
`keep`, or expired (registered more than `challenger_hours` ago). A dataset
without new labels (penguins) is compared once, at registration: nothing holds it.
Every trigger is a `retrain_triggers` row with its status: `fired`, `acted` once a
version is registered after it, or `held`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from mlflow import MlflowClient
from mlops_pipelines.comparison import KEEP, PROMOTE, UNDECIDED
from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.mlflow_helpers import challenger_version, latest_version
from mlops_pipelines.monitoring.challenger import LABELLED_BATCHES, stored_comparison
from mlops_pipelines.monitoring.served import ServedVersion, created_at, production
from mlops_pipelines.tables import CLEAN, FEATURE_DRIFT, MODEL_QUALITY, RETRAIN_TRIGGERS, create_tables


@dataclass(frozen=True)
class RetrainPolicy:
    accuracy_margin: float = 0.05
    accuracy_batches: int = 3
    drift_share: float = 0.5
    min_new_rows_fraction: float = 0.2
    pending_minutes: float = 120.0
    challenger_hours: float = 24.0

    def __post_init__(self) -> None:
        if self.accuracy_batches < 1:
            raise ValueError(f"accuracy_batches must be >= 1, got {self.accuracy_batches}")
        if not 0 <= self.accuracy_margin <= 1 or not 0 <= self.drift_share <= 1:
            raise ValueError("accuracy_margin and drift_share must be between 0 and 1")
        if self.min_new_rows_fraction <= 0:
            raise ValueError(f"min_new_rows_fraction must be > 0, got {self.min_new_rows_fraction}")
        if self.challenger_hours <= 0:
            raise ValueError(f"challenger_hours must be > 0, got {self.challenger_hours}")

    @classmethod
    def from_settings(cls, settings: Any, overrides: dict[str, Any] | None = None) -> RetrainPolicy:
        """From the pipeline settings (RETRAIN_*), with a DAG run's Params (`retrain_<field>`) taking precedence."""
        overrides = overrides or {}

        def value(name: str) -> Any:
            given = overrides.get(f"retrain_{name}")
            return getattr(settings, f"retrain_{name}") if given is None else given

        return cls(
            accuracy_margin=float(value("accuracy_margin")),
            accuracy_batches=int(value("accuracy_batches")),
            drift_share=float(value("drift_share")),
            min_new_rows_fraction=float(value("min_new_rows_fraction")),
            pending_minutes=float(value("pending_minutes")),
            challenger_hours=float(value("challenger_hours")),
        )


@dataclass(frozen=True)
class Trigger:
    dataset: str
    reason: str
    detail: dict[str, Any]
    model_name: str
    model_version: str  # the production version it was measured against ("" when there is none)

    def as_event_extra(self) -> dict[str, Any]:
        return {"reason": self.reason, "detail": self.detail, "model_name": self.model_name, "model_version": self.model_version}


FIRED, ACTED, HELD = "fired", "acted", "held"


@dataclass(frozen=True)
class Decision:
    trigger: Trigger | None
    why: str  # what was found, for the task log when nothing fires
    held: Trigger | None = None  # a reason found while a challenger is open (recorded, not fired)


def last_trigger(engine: Engine, dataset: str, statuses: tuple[str, ...] = (FIRED, ACTED)) -> dict[str, Any] | None:
    """The dataset's latest trigger of these statuses (by default the last one that fired), detail decoded."""
    table = RETRAIN_TRIGGERS
    query = (
        select(table)
        .where(table.c.dataset == dataset, table.c.status.in_(statuses))
        .order_by(table.c.fired_at.desc(), table.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if not row:
        return None
    out = dict(row)
    out["detail"] = json.loads(out["detail"] or "{}")
    return out


def trigger_of_run(engine: Engine, dataset: str, run_ref: str) -> dict[str, Any] | None:
    """The trigger an earlier try of this DAG run recorded (its retry must emit it again, not decide again)."""
    last = last_trigger(engine, dataset)
    return last if last and last["detail"].get("airflow_run") == run_ref else None


def _accuracy_drop(engine: Engine, contract: DatasetContract, served: ServedVersion, since: datetime, policy: RetrainPolicy):
    if served.baseline_accuracy is None:
        return None
    table = MODEL_QUALITY
    query = (
        select(table.c.batch_key, table.c.accuracy, table.c.measured_at)
        .where(
            table.c.dataset == contract.name,
            table.c.model_name == served.name,
            table.c.model_version == served.version,
            table.c.measured_at > since,
        )
        .order_by(table.c.measured_at.desc(), table.c.id.desc())
        .limit(policy.accuracy_batches)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    limit = served.baseline_accuracy - policy.accuracy_margin
    if len(rows) == policy.accuracy_batches and all(r.accuracy < limit for r in rows):
        return {
            "baseline_accuracy": served.baseline_accuracy,
            "margin": policy.accuracy_margin,
            "batches": [{"batch_key": r.batch_key, "accuracy": round(r.accuracy, 6)} for r in reversed(rows)],
        }
    return None


def _drift(engine: Engine, contract: DatasetContract, served: ServedVersion, since: datetime, policy: RetrainPolicy):
    table = FEATURE_DRIFT
    scope = (table.c.dataset == contract.name, table.c.model_version == served.version, table.c.measured_at > since)
    with engine.connect() as conn:
        latest = conn.execute(
            select(table.c.check_id).where(*scope).order_by(table.c.measured_at.desc(), table.c.id.desc()).limit(1)
        ).scalar()
        if latest is None:
            return None
        rows = conn.execute(select(table.c.source, table.c.feature, table.c.drifted).where(table.c.check_id == latest)).all()
    shares: dict[str, float] = {}
    for source in sorted({r.source for r in rows}):
        flags = [bool(r.drifted) for r in rows if r.source == source]
        shares[source] = sum(flags) / len(flags)
    over = {s: v for s, v in shares.items() if v > policy.drift_share}
    if over:
        drifted = sorted({r.feature for r in rows if r.drifted and r.source in over})
        return {"check_id": latest, "drifted_share": shares, "threshold": policy.drift_share, "drifted_features": drifted}
    return None


def clean_rows_after(engine: Engine, contract: DatasetContract, after_id: int) -> tuple[int, int | None]:
    """(clean rows with id > after_id, the table's max id)."""
    table = CLEAN[contract.name]
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(table).where(table.c.id > after_id)).scalar_one()
        max_id = conn.execute(select(func.max(table.c.id))).scalar()
    return count, max_id


def _new_rows(engine: Engine, contract: DatasetContract, served: ServedVersion, last: dict | None, policy: RetrainPolicy):
    if served.snapshot_max_id is None or not served.training_rows:
        return None
    since_id = served.snapshot_max_id
    if last and last["fired_at"] >= served.created_at and last["detail"].get("clean_max_id"):
        since_id = max(since_id, int(last["detail"]["clean_max_id"]))
    new, _ = clean_rows_after(engine, contract, since_id)
    needed = math.ceil(policy.min_new_rows_fraction * served.training_rows)
    if new >= needed:
        return {
            "new_rows": new,
            "since_clean_id": since_id,
            "training_rows": served.training_rows,
            "fraction": policy.min_new_rows_fraction,
        }
    return None


def decide(
    engine: Engine, client: MlflowClient, contract: DatasetContract, policy: RetrainPolicy, now: datetime, model_name: str | None = None
) -> Decision:
    """Whether the dataset's model should be retrained now, and the reason with its figures."""
    create_tables(engine)
    name = model_name or contract.registered_model_name
    newest = latest_version(client, name)
    last = last_trigger(engine, contract.name)
    if last and last["status"] == FIRED and newest is not None and registered_after(last, newest):
        last = mark_acted(engine, last, str(newest.version))
    if last and last["status"] == FIRED and last["fired_at"] > now - timedelta(minutes=policy.pending_minutes):
        return Decision(None, f"a retraining ({last['reason']}, fired {last['fired_at']:%Y-%m-%d %H:%M:%S}) has registered no version yet")
    _, clean_max_id = clean_rows_after(engine, contract, 0)
    if newest is None:
        if clean_max_id is None:
            return Decision(None, f"{contract.clean_table} is empty: nothing to train on")
        return Decision(Trigger(contract.name, "no_model", {"clean_max_id": clean_max_id, "latest_version": 0}, name, ""), "")
    served = production(client, name, exists=True)
    if served is None:
        return Decision(None, f"no version of {name} holds @production: a person promotes one (training would not change that)")
    since = max(served.created_at, last["fired_at"]) if last else served.created_at
    question = open_challenger(engine, client, contract, served, policy, now)
    for reason, found in (
        ("accuracy_drop", lambda: _accuracy_drop(engine, contract, served, since, policy)),
        ("drift", lambda: _drift(engine, contract, served, since, policy)),
        ("new_rows", lambda: _new_rows(engine, contract, served, last, policy)),
    ):
        detail = found()
        if not detail:
            continue
        detail |= {"clean_max_id": clean_max_id, "latest_version": int(newest.version)}
        trigger = Trigger(contract.name, reason, detail, name, served.version)
        if question is None:
            return Decision(trigger, "")
        why = (
            f"{reason} found, held: challenger v{question['challenger_version']} against production v{served.version} "
            f"is {question['recommendation']} ({question['rows_compared']} rows compared); a decision releases it"
        )
        return Decision(None, why, Trigger(trigger.dataset, reason, {**trigger.detail, "held_by": question}, name, served.version))
    return Decision(None, f"{name} v{served.version}: no reason to retrain since {since:%Y-%m-%d %H:%M:%S} ({asdict(policy)})")


def open_challenger(
    engine: Engine, client: MlflowClient, contract: DatasetContract, served: ServedVersion, policy: RetrainPolicy, now: datetime
) -> dict[str, Any] | None:
    """The challenger whose question is still open (see the module's docstring), or None.

    Its comparison with the production version is the pair's `challenger_comparison` row
    (monitoring.challenger replaces it with every batch); none yet: undecided.
    """
    if contract.name not in LABELLED_BATCHES:
        return None
    version = challenger_version(client, served.name)
    if version is None:
        return None
    comparison = stored_comparison(engine, served.name, served.version, str(version.version)) or {}
    recommendation = comparison.get("recommendation", UNDECIDED)
    if recommendation == KEEP or created_at(version) < now - timedelta(hours=policy.challenger_hours):
        return None
    return {
        "challenger_version": str(version.version),
        "recommendation": recommendation,
        "rows_compared": int(comparison.get("rows_compared", 0)),
        "awaiting": "a person to promote it" if recommendation == PROMOTE else "rows neither version trained on",
    }


def registered_after(trigger: dict[str, Any], newest: ModelVersion) -> bool:
    """Whether `newest` was registered after the trigger fired: by version number (the newest one it
    saw is in its detail), by time for a trigger recorded without it."""
    seen = trigger["detail"].get("latest_version")
    if seen is not None:
        return int(newest.version) > int(seen)
    return created_at(newest) > trigger["fired_at"]


def mark_acted(engine: Engine, trigger: dict[str, Any], version: str) -> dict[str, Any]:
    """A fired trigger after which a version was registered: `acted`, with the newest version then in its detail
    (the trigger's own, unless someone else trained in between)."""
    detail = {**trigger["detail"], "newest_version_seen": version}
    with engine.begin() as conn:
        conn.execute(
            RETRAIN_TRIGGERS.update()
            .where(RETRAIN_TRIGGERS.c.id == trigger["id"], RETRAIN_TRIGGERS.c.status == FIRED)
            .values(status=ACTED, detail=json.dumps(detail, sort_keys=True, default=str))
        )
    return {**trigger, "status": ACTED, "detail": detail}


def hold(engine: Engine, trigger: Trigger, at: datetime) -> dict[str, Any] | None:
    """A held trigger (Decision.held) as a `held` row, once per reason and challenger (None: recorded already)."""
    earlier = last_trigger(engine, trigger.dataset, (HELD,))
    waiting_for = trigger.detail["held_by"]["challenger_version"]
    if earlier and earlier["reason"] == trigger.reason and earlier["detail"].get("held_by", {}).get("challenger_version") == waiting_for:
        return None
    return record(engine, trigger, at, status=HELD)


def record(engine: Engine, trigger: Trigger, fired_at: datetime, status: str = FIRED) -> dict[str, Any]:
    """The trigger as a `retrain_triggers` row."""
    fired = fired_at.replace(microsecond=0)
    row: dict[str, Any] = {
        "dataset": trigger.dataset,
        "reason": trigger.reason,
        "detail": json.dumps(trigger.detail, sort_keys=True, default=str),
        "model_name": trigger.model_name,
        "model_version": trigger.model_version,
        "fired_at": fired,
        "status": status,
    }
    with engine.begin() as conn:
        key = conn.execute(RETRAIN_TRIGGERS.insert(), row).inserted_primary_key
    return {**row, "id": key[0] if key else None, "detail": trigger.detail, "fired_at": fired.isoformat()}
