"""MLflow's alias webhooks (POST /webhooks/mlflow) and a model's alias history (GET /models/{name}/history)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from inference.deps import ServingDep
from inference.errors import ApiError, item, not_found, unavailable
from inference.history import History
from inference.promotions import BadSignature, WebhookSecret, verify
from inference.schemas import ErrorResponse
from inference.settings import Settings

log = logging.getLogger(__name__)

# Signed by MLflow, so no API key: the signature is the credential.
webhook_router = APIRouter(tags=["promotions"])
# Read like /models (the app adds the API-key check when keys are set).
history_router = APIRouter(tags=["promotions"])

ALIAS_EVENTS = {("model_version_alias", "created"), ("model_version_alias", "deleted")}
NEW_VERSION = ("model_version", "created")


class WebhookAnswer(BaseModel):
    status: Literal["reloading", "preloading", "ignored"] = Field(
        description="reloading: a served model's alias moved; preloading: a new version of it is loaded ahead; ignored: another event or model"
    )
    model: str | None = None
    alias: str | None = None
    version: str | None = Field(None, description="Where the alias points now; null when it was removed")
    recorded: bool = Field(False, description="This delivery appended the move to the history (false: already there, or not served)")


class AliasMove(BaseModel):
    id: int
    model: str
    alias: str
    from_version: str | None = Field(description="The version the alias left; null for the first move recorded")
    to_version: str | None = Field(description="The version the alias reached; null when it was removed")
    path: Literal["webhook", "poll", "rollback"] = Field(
        description="How inference learned of it: MLflow's webhook, its own poll of the registry, or scripts/rollback.sh"
    )
    moved_at: datetime = Field(description="When inference recorded it (UTC)")


class ModelHistory(BaseModel):
    name: str
    recorded: bool = Field(description="False when this service keeps no history (PREDICTION_LOG=off: no database); moves is then empty")
    moves: list[AliasMove] = Field(description="Newest first")


def webhook_secret(request: Request, settings: Settings) -> WebhookSecret:
    """One per app, made on the first delivery."""
    secret: WebhookSecret | None = getattr(request.app.state, "webhook_secret", None)
    if secret is None:
        secret = request.app.state.webhook_secret = WebhookSecret(settings)
    return secret


def background(request: Request, work: Coroutine[Any, Any, None]) -> None:
    """Answered now; the load runs on (MLflow waits for no model download)."""
    task = asyncio.create_task(work)
    # Kept until done: the event loop holds tasks only weakly.
    reloads: set[asyncio.Task[None]] | None = getattr(request.app.state, "reloads", None)
    if reloads is None:
        reloads = request.app.state.reloads = set()
    reloads.add(task)
    task.add_done_callback(reloads.discard)


@webhook_router.post(
    "/webhooks/mlflow",
    summary="MLflow's alias webhooks (model_version_alias.created/deleted), signed with INFERENCE_WEBHOOK_SECRET",
    response_model=WebhookAnswer,
    responses={401: {"model": ErrorResponse, "description": "Missing, stale or forged signature: nothing changes"}},
)
async def mlflow_webhook(request: Request, serving: ServingDep) -> dict[str, Any]:
    body = await request.body()
    settings, store = serving.settings, serving.store
    try:
        verify(webhook_secret(request, settings).get(), request.headers, body, settings.webhook_max_age_seconds)
    except BadSignature as exc:
        log.warning("refused a webhook delivery: %s", exc)
        raise ApiError(401, [item(("header", "X-MLflow-Signature"), str(exc), "unauthorized")]) from None
    try:
        event = json.loads(body)
        kind = (event.get("entity"), event.get("action"))
        data = event.get("data") or {}
        name = str(data["name"])
        if kind == NEW_VERSION and name in settings.model_names:
            new = str(data["version"])
            background(request, asyncio.to_thread(store.preload, name, new))
            return {"status": "preloading", "model": name, "version": new}
        alias = str(data["alias"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return {"status": "ignored"}
    if kind not in ALIAS_EVENTS or name not in settings.model_names:
        return {"status": "ignored", "model": name, "alias": alias}
    version = str(data["version"]) if kind[1] == "created" and data.get("version") is not None else None
    recorded = False
    history: History | None = getattr(request.app.state, "history", None)
    if history is not None:
        # Appended first: the other replicas, watching the history, start loading too.
        try:
            recorded = await asyncio.to_thread(history.record, name, alias, version, "webhook")
        except Exception as exc:
            log.warning("%s: could not record the move of %s in the history: %s", name, alias, exc)
    store.forget_alias(name, alias)
    # A check of production resolves the challenger too (kept loaded for shadow scoring).
    if alias == settings.production_alias or (alias == settings.challenger_alias and settings.shadow == "on"):
        background(request, asyncio.to_thread(store.refresh_model, name, "webhook"))
    return {"status": "reloading", "model": name, "alias": alias, "version": version, "recorded": recorded}


@history_router.get(
    "/models/{name}/history",
    summary="Every alias move of a served model, newest first: from and to which version, when, and how it was learned",
    response_model=ModelHistory,
    responses={404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def model_history(
    name: str,
    request: Request,
    serving: ServingDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many moves")] = 100,
) -> dict[str, Any]:
    if name not in serving.settings.model_names:
        raise not_found(("path", "name"), f"model {name!r} is not served here; served: {', '.join(serving.settings.model_names)}")
    history: History | None = getattr(request.app.state, "history", None)
    if history is None:
        return {"name": name, "recorded": False, "moves": []}
    try:
        moves = await asyncio.to_thread(history.of, name, limit)
    except Exception as exc:
        raise unavailable(f"the alias history cannot be read now: {exc}") from None
    return {"name": name, "recorded": True, "moves": [m.as_dict() for m in moves]}
