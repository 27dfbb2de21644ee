"""The original clients' routes: the penguin service's and the Covertype course UI's (see inference.original_clients)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from inference import original_clients as shapes
from inference.deps import MISSING, ChoiceDep, PlainRoute, ServingDep, choice_of, json_body, predict_openapi, resolve_model, serving_of
from inference.errors import unavailable
from inference.fastjson import Json
from inference.predictions import predict
from inference.routers.predict import PREDICT_RESPONSES
from inference.schemas import CovertypePrediction, ErrorResponse, ModelInfo, PenguinBatchResponse, PenguinPrediction

# The predict routes; the app adds the API-key check when keys are set (inference.api_keys).
router = APIRouter(tags=["original clients"], route_class=PlainRoute)
# /model/info, open like /models.
info_router = APIRouter(tags=["original clients"])

# Any JSON, null or no body included: which of the two accepted shapes it is decides
# the model, and anything else is told both shapes.
ORIGINAL_BODY = 'One penguin object, or {"features": [...]} with the Covertype feature values in data_api\'s column order'
PENGUINS_BODY = f'{{"penguins": [penguin, ...]}}, at most {shapes.PENGUIN_BATCH_LIMIT}'


async def _payload(request: Request) -> Any:
    payload = await json_body(request)
    return None if payload is MISSING else payload


@router.post(
    "/predict",
    summary='Predict one penguin, or one Covertype row given as {"features": [...]}',
    response_model=PenguinPrediction | CovertypePrediction,
    responses=PREDICT_RESPONSES,
    openapi_extra=predict_openapi(ORIGINAL_BODY, False),
)
async def predict_original(request: Request) -> JSONResponse:
    serving, choice = serving_of(request), choice_of(request)
    payload = await _payload(request)
    if shapes.is_features_body(payload):
        model = await resolve_model(serving.store, serving.settings.covertype_model, choice)
        row, actual = shapes.features_row(payload, model.spec)
        # The true class the client echoes: the challenger's shadow scoring counts both versions right or wrong with it.
        record = serving.recorder(request, choice, actual)
        [prediction] = predict(model, [row], serving.metrics, describe=shapes.features_problems(model.spec), record=record)
        return Json(shapes.covertype_answer(prediction, model.name, model.version, actual))
    model = await resolve_model(serving.store, serving.settings.penguins_model, choice)
    row = shapes.check_penguin_body(payload, model.spec)
    [prediction] = predict(model, [row], serving.metrics, record=serving.recorder(request, choice))
    return Json(shapes.penguin_answer(prediction, model.name, model.version))


@router.post(
    "/predict/batch",
    summary=f"Predict up to {shapes.PENGUIN_BATCH_LIMIT} penguins",
    response_model=PenguinBatchResponse,
    responses=PREDICT_RESPONSES,
    openapi_extra=predict_openapi(PENGUINS_BODY, False),
)
async def predict_penguins(request: Request) -> JSONResponse:
    serving, choice = serving_of(request), choice_of(request)
    rows = shapes.penguin_rows(await _payload(request))
    model = await resolve_model(serving.store, serving.settings.penguins_model, choice)
    predictions = predict(model, rows, serving.metrics, ("body", "penguins"), record=serving.recorder(request, choice))
    return Json(
        {
            "model": model.name,
            "version": model.version,
            "predictions": [shapes.penguin_answer(p, model.name, model.version) for p in predictions],
        }
    )


@info_router.get(
    "/model/info",
    summary="The production penguin model: version, family, hyper-parameters, metrics, training run, features",
    response_model=ModelInfo,
    responses={404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def penguin_model_info(choice: ChoiceDep, serving: ServingDep) -> dict[str, Any]:
    model = await resolve_model(serving.store, serving.settings.penguins_model, choice)
    try:
        described = await asyncio.to_thread(serving.store.registry.version_details, model.name, model.version)
    except Exception as exc:
        raise unavailable(f"the MLflow registry cannot be reached: {exc}") from None
    return shapes.model_info(model.name, model.version, model.spec, described)
