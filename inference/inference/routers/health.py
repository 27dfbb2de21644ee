"""Liveness, readiness and Prometheus metrics: open to every caller, no model needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from inference.deps import ServingDep
from inference.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", summary="The process is alive", response_model=Health)
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Which configured models are loaded, at which version",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A configured model has no production version loaded"}},
)
async def ready(serving: ServingDep) -> JSONResponse:
    settings, store = serving.settings, serving.store
    models = {
        name: {"version": store.production[name].version if name in store.production else None, **store.status[name]}
        for name in settings.model_names
    }
    ok = all(m["version"] is not None for m in models.values())
    return JSONResponse({"ready": ok, "models": models}, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def prometheus(serving: ServingDep) -> Response:
    # Set at scrape time: the request path pays nothing for it.
    for name in serving.settings.model_names:
        serving.metrics.model_ready.labels(name).set(1 if name in serving.store.production else 0)
    body, content_type = serving.metrics.render()
    return Response(body, media_type=content_type)
