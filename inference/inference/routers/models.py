"""What is served: every model with its versions and aliases, and one version's details."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from inference.deps import ChoiceDep, ServingDep, resolve_model
from inference.errors import unavailable
from inference.registry import ModelNotFound
from inference.schemas import ErrorResponse, ModelDetail, ModelList

router = APIRouter(tags=["models"])


@router.get(
    "/models",
    summary="Every served model: production version, other versions and aliases, loaded versions",
    response_model=ModelList,
    responses={503: {"model": ErrorResponse}},
)
async def models(serving: ServingDep) -> dict[str, Any]:
    settings, store = serving.settings, serving.store
    out = []
    for name in settings.model_names:
        try:
            described = await asyncio.to_thread(store.registry.describe, name)
        except ModelNotFound:
            described = {"aliases": {}, "versions": []}
        except Exception as exc:
            raise unavailable(f"the MLflow registry cannot be reached: {exc}") from None
        out.append(
            {
                "name": name,
                "dataset": settings.dataset_of(name),
                "production_version": described["aliases"].get(settings.production_alias),
                "aliases": described["aliases"],
                "versions": described["versions"],
                "loaded_versions": store.loaded_versions(name),
                "status": store.status[name],
            }
        )
    return {"models": out}


@router.get(
    "/models/{name}",
    summary="The production version's metrics, signature and feature spec",
    response_model=ModelDetail,
    responses={404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def model_detail(name: str, choice: ChoiceDep, serving: ServingDep) -> dict[str, Any]:
    store = serving.store
    model = await resolve_model(store, name, choice)
    try:
        metrics_of_run = await asyncio.to_thread(store.registry.run_metrics, model.run_id)
        grid = await asyncio.to_thread(store.registry.grid_coverage, model.name, model.version)
    except Exception as exc:
        raise unavailable(f"the MLflow registry cannot be reached: {exc}") from None
    return {
        "name": model.name,
        "version": model.version,
        "run_id": model.run_id,
        "metrics": metrics_of_run,
        "signature": model.signature,
        "feature_spec": model.spec.raw,
        "input_example": model.input_example,
        "classes": model.classes,
        "fast_path": model.compiled is not None,
        "grid": grid,
    }
