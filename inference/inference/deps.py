"""What routes need, as FastAPI dependencies: settings, the model store, metrics, the model that answers.

A route states its needs in its signature (`serving: ServingDep`, `choice: ChoiceDep`)
instead of reaching into `request.app.state`; tests can override any of them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from inference.errors import invalid, not_found, unavailable
from inference.metrics import Metrics
from inference.model_store import ModelStore, NotServing
from inference.prediction_log import PredictionLog
from inference.predictions import Recorder
from inference.registry import LoadedModel, ModelNotFound
from inference.request_id import request_id
from inference.settings import Settings

log = logging.getLogger("inference")


@dataclass(frozen=True)
class Serving:
    """What the routes work with, made once per app (the store in the lifespan)."""

    settings: Settings
    store: ModelStore
    metrics: Metrics
    # None with PREDICTION_LOG=off.
    prediction_log: PredictionLog | None = None

    def recorder(self, request: Request) -> Recorder | None:
        """What a route passes to `predict` so its predictions are recorded, with its id and path."""
        log = self.prediction_log
        if log is None:
            return None
        rid, route = request_id(request.scope), request.scope["path"][:64]
        return lambda model, rows, predictions, seconds: log.record(rid, route, model, rows, predictions, seconds)


# One dependency for the three, and `async def`: every dependency FastAPI resolves costs
# each request time, and a plain `def` one even a hop through its thread pool (together
# they took two thirds of a one-row prediction's throughput).
async def get_serving(request: Request) -> Serving:
    serving: Serving = request.app.state.serving
    return serving


ServingDep = Annotated[Serving, Depends(get_serving)]


@dataclass(frozen=True)
class Choice:
    """Which version the caller asked for: production unless `version` or `alias` is given."""

    version: str | None = None
    alias: str | None = None


async def get_choice(
    version: Annotated[str | None, Query(pattern=r"^[0-9]+$", description="Registered version to answer instead of production")] = None,
    alias: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Alias (e.g. challenger) whose version answers instead of production"),
    ] = None,
) -> Choice:
    if version is not None and alias is not None:
        raise invalid(("query", "version"), "give either version or alias, not both")
    return Choice(version, alias)


ChoiceDep = Annotated[Choice, Depends(get_choice)]


async def resolve_model(store: ModelStore, name: str, choice: Choice) -> LoadedModel:
    """The model that answers: production, or the version or alias asked for; ApiError otherwise."""
    try:
        if choice.version is None and choice.alias is None:
            return store.serving(name)
        return await asyncio.to_thread(store.choose, name, choice.version, choice.alias)
    except ModelNotFound as exc:
        loc = ("query", "version") if choice.version else ("query", "alias") if choice.alias else ("path", "name")
        raise not_found(loc, str(exc)) from None
    except NotServing as exc:
        raise unavailable(f"{name} cannot answer yet: {exc}") from None
    except Exception as exc:  # the registry failed while loading another version
        log.exception("loading %s %s", name, choice)
        raise unavailable(f"cannot load {name} from the registry now: {exc}") from None
