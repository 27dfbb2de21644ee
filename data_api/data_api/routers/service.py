"""The service itself: an overview, liveness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ..dataset import COLUMNS
from ..deps import MetricsDep, SourceDep
from ..schemas import NO_DATA, HealthResponse, Overview

router = APIRouter(tags=["service"])

ENDPOINTS = {
    "GET /data?group_number=N": "random sample of group N's current batch",
    "GET /restart_data_generation?group_number=N": "start group N over at batch 1",
    "GET /groups/{N}": "group N's current state (read-only)",
    "GET /health": "liveness",
    "GET /metrics": "Prometheus metrics",
    "GET /docs": "OpenAPI UI",
}


@router.get("/", summary="Service overview: endpoints, columns and settings", response_model=Overview, responses=NO_DATA)
async def overview(source: SourceDep) -> dict[str, Any]:
    s = source.settings
    return {
        "service": "data_api",
        "description": "Covertype data in timed batches; each group moves through the batches on its own.",
        "endpoints": ENDPOINTS,
        "columns": list(COLUMNS),
        "rows": source.data.n_rows,
        "n_groups": s.n_groups,
        "n_batches": s.n_batches,
        "batch_interval_seconds": s.batch_interval_seconds,
        "advance": s.advance,
        "order": s.order,
        "order_groups": {str(g): o for g, o in s.order_groups.items()},
        "interval_groups": {str(g): i for g, i in s.interval_groups.items()},
        "sample_fraction": s.sample_fraction,
    }


@router.get("/health", summary="Liveness (docker healthcheck)", response_model=HealthResponse, responses=NO_DATA)
async def health(source: SourceDep) -> dict[str, Any]:
    s = source.settings
    return {"status": "ok", "rows": source.data.n_rows, "n_groups": s.n_groups, "n_batches": s.n_batches}


# Not in the API's schema: Prometheus reads it, not the API's clients.
@router.get("/metrics", summary="Prometheus metrics", response_class=Response, include_in_schema=False)
async def prometheus(metrics: MetricsDep) -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
