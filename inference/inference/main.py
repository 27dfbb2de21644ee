"""The inference service: the app factory and its lifespan.

Routes live in `inference.routers`, what they need in `inference.deps`, the one
error shape in `inference.errors`, and the served models' part of the OpenAPI
document in `inference.openapi`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from inference import errors
from inference.api_keys import api_key_check
from inference.deps import PlainRoute, Serving
from inference.history import History
from inference.metrics import Metrics, MetricsMiddleware
from inference.model_store import ModelStore
from inference.openapi import with_row_schemas
from inference.prediction_log import PredictionLog
from inference.promotions import follow_history
from inference.registry import Registry
from inference.request_id import RequestId
from inference.routers import health, models, original_clients, predict, promotions, shadow
from inference.settings import Settings, check_production
from inference.shadow import Shadow, ShadowLog

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_production(settings)
        # The alias history shares the prediction log's database and user; off with it.
        history = History(settings) if settings.prediction_log == "on" else None
        app.state.history, app.state.reloads = history, set()
        store = ModelStore(settings, registry or Registry(settings), history)
        app.state.store = store
        # Off: no writer thread, no database connection.
        prediction_log = PredictionLog(settings, metrics) if settings.prediction_log == "on" else None
        if prediction_log is not None:
            prediction_log.start()
        app.state.prediction_log = prediction_log
        # The challenger scored in shadow (INFERENCE_SHADOW), its predictions logged beside production's.
        shadow_log = ShadowLog(settings, metrics) if settings.shadow == "on" and prediction_log is not None else None
        scorer = Shadow(settings, store, metrics, shadow_log) if settings.shadow == "on" else None
        for starting in (shadow_log, scorer):
            if starting is not None:
                starting.start()
        app.state.serving = Serving(settings, store, metrics, prediction_log, scorer)
        # Off the request path: requests keep being answered by the model that
        # serves now while a new production version loads.
        tried = asyncio.Event()
        refresher = asyncio.create_task(store.keep_current(tried))
        # Every replica follows a move another one (or a rollback) recorded.
        follower = asyncio.create_task(follow_history(store, history, settings.moves_watch_seconds)) if history else None
        # Start-up ends (and uvicorn starts listening) once the models had their first
        # load, or after startup_load_seconds: a load balancer then only ever reaches
        # a replica that has its models.
        try:
            await asyncio.wait_for(tried.wait(), settings.startup_load_seconds)
        except TimeoutError:
            log.warning("no first model load within %.0f s; serving without it and catching up", settings.startup_load_seconds)
        yield
        refresher.cancel()
        if follower is not None:
            follower.cancel()
        if history is not None:
            history.dispose()
        # What is still queued is scored and written before the process goes.
        for worker in (scorer, shadow_log, prediction_log):
            if worker is not None:
                await asyncio.to_thread(worker.stop)

    app = FastAPI(
        title="MLOps platform inference",
        description="Predicts with the production model of each dataset from the MLflow registry, "
        "or with another registered version or alias the caller chooses.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.add_middleware(errors.BodyLimit, max_bytes=settings.max_body_bytes)
    # Outside the body limit, so a 413 carries the request's id too.
    app.add_middleware(RequestId)
    # Added last, so outermost: it counts the 413s too.
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    errors.install(app)
    # Every route that predicts or can load a version (?version=, ?alias=) needs one of
    # INFERENCE_API_KEYS when keys are set; probes, metrics and the signed webhook never do.
    keyed = api_key_check(settings.api_keys)
    add_routes(app, health.router)
    add_routes(app, promotions.webhook_router)
    add_routes(app, promotions.history_router, keyed)
    add_routes(app, models.router, keyed)
    add_routes(app, shadow.router, keyed)
    add_routes(app, original_clients.info_router, keyed)
    # The original clients' routes before /predict/{dataset}, so that "batch" is not taken for a dataset.
    add_routes(app, original_clients.router, keyed)
    add_routes(app, predict.router, keyed)
    # Documented in the order they were added; matched in another: one regular expression
    # per route until one fits, and the predict routes (most of the traffic) were last,
    # behind a dozen others (a tenth of a one-row prediction's time in process). The
    # predict routes keep their order among themselves, FastAPI's documentation pages go last.
    documented = list(app.routes)
    app.router.routes.sort(key=lambda route: 0 if isinstance(route, PlainRoute) else 1 if isinstance(route, APIRoute) else 2)

    cached: dict[Any, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        """FastAPI's schema, rebuilt when the production versions change."""
        store: ModelStore | None = getattr(app.state, "store", None)
        production = dict(store.production) if store else {}
        key = tuple(sorted((name, model.version) for name, model in production.items()))
        if key not in cached:
            cached.clear()
            base = get_openapi(title=app.title, version=app.version, description=app.description, routes=documented)
            cached[key] = with_row_schemas(base, production, settings)
        return cached[key]

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def add_routes(app: FastAPI, router: APIRouter, dependencies: list[Any] | None = None) -> None:
    """The router's routes as the app's own, as `@app.post(...)` would make them, of the router's route class.

    Not `include_router`: FastAPI matches an included router's routes through a wrapper
    per router, and the chosen router's twice; that was a fifth of a one-row
    prediction's time in the service, more than the model.
    """
    for route in router.routes:
        assert isinstance(route, APIRoute), route
        app.router.add_api_route(
            route.path,
            route.endpoint,
            methods=sorted(route.methods or ()),
            response_model=route.response_model,
            responses=route.responses,
            summary=route.summary,
            description=route.description,
            tags=list(route.tags),
            dependencies=[*(dependencies or []), *route.dependencies],
            openapi_extra=route.openapi_extra,
            response_class=route.response_class,
            name=route.name,
            route_class_override=type(route),
        )


app = create_app()
