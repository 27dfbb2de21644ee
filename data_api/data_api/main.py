"""FastAPI app: app factory, lifespan (load data and state once), and routes."""

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from .batches import BatchedData, BatchScheduler, Clock, DataExhausted
from .dataset import COLUMNS, DataUnavailable, load_dataset
from .metrics import Metrics, MetricsMiddleware
from .settings import Settings
from .state import StateStore

log = logging.getLogger("data_api")


class DataResponse(BaseModel):
    group_number: int
    batch_number: int
    # Rows are lists, as the course API sends them; `columns` names their values, so a
    # reader can check the order by name instead of trusting positions.
    columns: list[str]
    data: list[list[int | str]]


class RestartResponse(BaseModel):
    group_number: int
    restarted: bool
    message: str


class HealthResponse(BaseModel):
    status: str
    rows: int
    n_groups: int
    n_batches: int


class GroupStatusResponse(BaseModel):
    group_number: int
    started: bool
    exhausted: bool
    batch_number: int | None
    n_batches: int
    order: str
    batch_started_at: str | None
    next_batch_at: str | None
    seconds_until_next_batch: float | None


class ErrorResponse(BaseModel):
    detail: str


class ExhaustedResponse(ErrorResponse):
    # So a client can say which batch was the last without parsing `detail`.
    group_number: int
    n_batches: int


def _configure_logging() -> None:
    # uvicorn configures only its own loggers; without this our INFO lines are lost.
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def _group_range_message(n_groups: int, got: Any = None) -> str:
    msg = f"group_number must be an integer between 1 and {n_groups}"
    return msg if got is None else f"{msg} (got {got!r})"


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat()


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _available(request: Request) -> None:
    """503 with the reason while the service has no data (see dataset.DataUnavailable)."""
    reason = request.app.state.unavailable
    if reason:
        raise HTTPException(status_code=503, detail=reason)


def _check_group(request: Request, group_number: int) -> int:
    n_groups = _settings(request).n_groups
    if not 1 <= group_number <= n_groups:
        raise HTTPException(status_code=422, detail=_group_range_message(n_groups, group_number))
    return group_number


def query_group(
    request: Request,
    group_number: Annotated[int, Query(description="Group number, 1..n_groups (default 1..10).")],
) -> int:
    return _check_group(request, group_number)


def path_group(
    request: Request,
    group_number: Annotated[int, Path(description="Group number, 1..n_groups (default 1..10).")],
) -> int:
    return _check_group(request, group_number)


GroupNumber = Annotated[int, Depends(query_group)]
GROUP_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Missing, non-integer or out-of-range group_number"}
}


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app. ``settings`` defaults to the environment (read at startup, not
    import); ``clock`` (epoch seconds) defaults to time.time and is injectable for tests."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _configure_logging()
        s = settings if settings is not None else Settings()
        started = time.perf_counter()
        s.state_dir.mkdir(parents=True, exist_ok=True)
        app.state.settings = s
        try:
            frame = load_dataset(s.data_path, s.state_dir)
        except DataUnavailable as exc:
            # Up, answering 503 with the reason, rather than exiting into a restart loop.
            log.error("%s", exc)
            app.state.unavailable = str(exc)
            yield
            return
        data = BatchedData(frame, s.n_batches, s.seed)
        app.state.unavailable = None
        app.state.data = data
        app.state.scheduler = BatchScheduler(
            s.n_batches,
            s.batch_interval_seconds,
            StateStore(s.state_dir),
            clock=clock,
            advance=s.advance,
            group_intervals=s.interval_groups,
        )
        log.info(
            "loaded %d rows into %d batches for %d groups in %.2fs (state in %s)",
            data.n_rows,
            s.n_batches,
            s.n_groups,
            time.perf_counter() - started,
            s.state_dir,
        )
        yield

    app = FastAPI(
        title="data_api",
        summary="Live data source for the UCI Covertype data, served in timed batches per group.",
        version="1.0.0",
        lifespan=lifespan,
    )
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default message for "abc" or a missing parameter does not say what
        # is valid; for group_number, say the range.
        if any(err.get("loc", ())[-1:] == ("group_number",) for err in exc.errors()):
            n_groups = _settings(request).n_groups
            got = request.query_params.get("group_number", request.path_params.get("group_number"))
            detail = (
                f"group_number is required: an integer between 1 and {n_groups}" if got is None else _group_range_message(n_groups, got)
            )
            return JSONResponse(status_code=422, content={"detail": detail})
        return await request_validation_exception_handler(request, exc)

    @app.get("/", summary="Service overview")
    def root(request: Request) -> dict[str, Any]:
        _available(request)
        s = _settings(request)
        return {
            "service": "data_api",
            "description": "Covertype data in timed batches; each group moves through the batches on its own.",
            "endpoints": {
                "GET /data?group_number=N": "random sample of group N's current batch",
                "GET /restart_data_generation?group_number=N": "start group N over at batch 1",
                "GET /groups/{N}": "group N's current state (read-only)",
                "GET /health": "liveness",
                "GET /metrics": "Prometheus metrics",
                "GET /docs": "OpenAPI UI",
            },
            "columns": list(COLUMNS),
            "rows": request.app.state.data.n_rows,
            "n_groups": s.n_groups,
            "n_batches": s.n_batches,
            "batch_interval_seconds": s.batch_interval_seconds,
            "interval_groups": {str(g): i for g, i in s.interval_groups.items()},
            "advance": s.advance,
            "order": s.order,
            "order_groups": {str(g): o for g, o in s.order_groups.items()},
            "sample_fraction": s.sample_fraction,
        }

    @app.get(
        "/health",
        response_model=HealthResponse,
        summary="Liveness (docker healthcheck)",
        responses={503: {"description": "No data: the reason names the setting to fix and the address the download tried"}},
    )
    def health(request: Request) -> Any:
        if request.app.state.unavailable:
            return JSONResponse({"status": "unavailable", "detail": request.app.state.unavailable}, status_code=503)
        s = _settings(request)
        return {"status": "ok", "rows": request.app.state.data.n_rows, "n_groups": s.n_groups, "n_batches": s.n_batches}

    @app.get(
        "/data",
        response_model=DataResponse,
        summary="Random sample of the group's current batch",
        description=(
            "Rows have the 13 columns listed by `GET /` in order. The first call for a group starts "
            "batch 1. With `advance=per_call` (the default) the first call made `batch_interval_seconds` "
            "or more after the batch started moves the group on by one batch; with `advance=clock` the "
            "batch moves on every `batch_interval_seconds` whether or not anyone fetched it. Answers 410 "
            "once every batch has been delivered."
        ),
        responses={**GROUP_ERRORS, 410: {"model": ExhaustedResponse, "description": "All batches delivered"}},
    )
    def get_data(request: Request, group_number: GroupNumber) -> JSONResponse:
        _available(request)
        s = _settings(request)
        try:
            batch = request.app.state.scheduler.current_batch(group_number)
        except DataExhausted:
            detail = (
                f"All {s.n_batches} batches have been delivered for group {group_number}. "
                f"Call GET /restart_data_generation?group_number={group_number} to start again from batch 1."
            )
            return JSONResponse({"detail": detail, "group_number": group_number, "n_batches": s.n_batches}, status_code=410)
        rows = request.app.state.data.sample(batch, s.sample_fraction, order=s.group_order(group_number))
        metrics.served(group_number, batch, len(rows))
        # Returned directly: the rows are already plain ints/strs, so skip re-validating thousands of them.
        return JSONResponse({"group_number": group_number, "batch_number": batch, "columns": list(COLUMNS), "data": rows})

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.get(
        "/restart_data_generation",
        response_model=RestartResponse,
        summary="Start the group over at batch 1",
        responses=GROUP_ERRORS,
    )
    def restart(request: Request, group_number: GroupNumber) -> dict[str, Any]:
        _available(request)
        request.app.state.scheduler.restart(group_number)
        return {
            "group_number": group_number,
            "restarted": True,
            "message": f"Group {group_number} restarted; the next GET /data starts batch 1.",
        }

    @app.get(
        "/groups/{group_number}",
        response_model=GroupStatusResponse,
        summary="The group's current state (read-only; does not start its clock)",
        responses=GROUP_ERRORS,
    )
    def group_status(request: Request, group_number: Annotated[int, Depends(path_group)]) -> dict[str, Any]:
        _available(request)
        scheduler: BatchScheduler = request.app.state.scheduler
        st = scheduler.status(group_number)
        return {
            "group_number": group_number,
            "started": st.started,
            "exhausted": st.exhausted,
            "batch_number": st.batch_number,
            "n_batches": scheduler.n_batches,
            "order": _settings(request).group_order(group_number),
            "batch_started_at": _iso(st.batch_started_at),
            "next_batch_at": _iso(st.next_batch_at),
            "seconds_until_next_batch": (None if st.next_batch_at is None else max(0.0, st.next_batch_at - scheduler.clock())),
        }

    return app


# For uvicorn: `uvicorn data_api.main:app`. Settings are read from the environment at startup.
app = create_app()
