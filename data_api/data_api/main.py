"""The data_api service: the app factory and its lifespan (load the data and the groups' state once).

Routes live in `data_api.routers`, what they need in `data_api.deps`, their bodies in
`data_api.schemas` and the one error shape in `data_api.errors`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import errors
from .batches import BatchedData, BatchScheduler, Clock
from .dataset import DataUnavailable, load_dataset
from .deps import Source
from .metrics import Metrics, MetricsMiddleware
from .routers import batches, groups, service
from .settings import Settings
from .state import StateStore

log = logging.getLogger("data_api")


def _configure_logging() -> None:
    # uvicorn configures only its own loggers; without this our INFO lines are lost.
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def open_source(settings: Settings, clock: Clock | None = None) -> Source:
    """The data cut into batches and the groups' stored state; DataUnavailable without data."""
    started = time.perf_counter()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    data = BatchedData(load_dataset(settings.data_path, settings.state_dir), settings.n_batches, settings.seed)
    store = StateStore(settings.state_dir)
    scheduler = BatchScheduler(
        settings.n_batches,
        settings.batch_interval_seconds,
        store,
        clock=clock,
        advance=settings.advance,
        group_intervals=settings.interval_groups,
    )
    log.info(
        "loaded %d rows into %d batches for %d groups in %.2fs (state in %s)",
        data.n_rows,
        settings.n_batches,
        settings.n_groups,
        time.perf_counter() - started,
        settings.state_dir,
    )
    return Source(settings, data, scheduler)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app. ``settings`` defaults to the environment (read at startup, not
    import); ``clock`` (epoch seconds) defaults to time.time and is injectable for tests."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _configure_logging()
        app.state.settings = s = settings if settings is not None else Settings()
        app.state.source, app.state.unavailable = None, None
        try:
            app.state.source = open_source(s, clock)
        except DataUnavailable as exc:
            # Up, answering 503 with the reason, rather than exiting into a restart loop.
            log.error("%s", exc)
            app.state.unavailable = str(exc)
        yield

    app = FastAPI(
        title="data_api",
        summary="Live data source for the UCI Covertype data, served in timed batches per group.",
        description='Every 4xx and 5xx answer is `{"detail": [{"type", "loc", "msg"}, ...]}`, FastAPI\'s validation shape.',
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    errors.install(app)
    for router in (batches.router, groups.router, service.router):
        app.include_router(router)
    return app


# For uvicorn: `uvicorn data_api.main:app`. Settings are read from the environment at startup.
app = create_app()
