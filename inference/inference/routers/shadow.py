"""The challenger's shadow scoring of a model so far (GET /models/{name}/shadow)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from inference.deps import ServingDep
from inference.errors import not_found
from inference.schemas import ErrorResponse, ShadowReport

# Read like /models (the app adds the API-key check when keys are set).
router = APIRouter(tags=["models"])


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@router.get(
    "/models/{name}/shadow",
    summary="The challenger scored in shadow on production's traffic: agreement, and each version's accuracy where the truth was sent",
    response_model=ShadowReport,
    responses={404: {"model": ErrorResponse}},
)
async def shadow_report(name: str, serving: ServingDep) -> dict[str, Any]:
    settings, store, shadow = serving.settings, serving.store, serving.shadow
    if name not in settings.model_names:
        raise not_found(("path", "name"), f"model {name!r} is not served here; served: {', '.join(settings.model_names)}")
    production, challenger = store.production.get(name), store.challenger.get(name)
    pairs = [
        {
            "production_version": production_version,
            "challenger_version": challenger_version,
            "rows": t.rows,
            "agreed": t.agreed,
            "agreement_rate": _share(t.agreed, t.rows),
            "rows_with_actual": t.with_actual,
            "production_accuracy": _share(t.production_correct, t.with_actual),
            "challenger_accuracy": _share(t.challenger_correct, t.with_actual),
        }
        for production_version, challenger_version, t in (shadow.totals(name) if shadow else [])
    ]
    return {
        "name": name,
        "enabled": shadow is not None,
        "production_version": production.version if production else None,
        "challenger_version": challenger.version if challenger else None,
        "queued_rows": shadow.queued_rows if shadow else 0,
        "pairs": pairs,
    }
