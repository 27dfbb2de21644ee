"""The platform's predict routes: one row or a batch, for a model by name or a dataset's production model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from inference.deps import MISSING, PlainRoute, choice_of, json_body, predict_openapi, resolve_model, serving_of
from inference.errors import ApiError, item, not_found
from inference.fastjson import Json
from inference.predictions import predict, rows_of
from inference.schemas import ErrorResponse, PredictResponse

# Every route here predicts: the app adds the API-key check when keys are set (inference.api_keys).
router = APIRouter(tags=["predict"], route_class=PlainRoute)

# The body's precise schema and examples come from the served models (inference.openapi).
BODY = 'One row (an object of raw features) or a batch: {"rows": [row, ...]}'
PREDICT_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "API keys are configured (INFERENCE_API_KEYS) and none valid was given"},
    404: {"model": ErrorResponse, "description": "Unknown model, version or alias"},
    422: {"model": ErrorResponse, "description": "Rows that do not fit the model's feature spec: where, why, and the row in a batch"},
    503: {"model": ErrorResponse, "description": "No version of the model can answer yet"},
}


async def _answer(name: str, request: Request) -> JSONResponse:
    serving, choice = serving_of(request), choice_of(request)
    payload = await json_body(request)
    if payload is MISSING:
        raise ApiError(422, [item(("body",), "Field required", "missing")])
    if not isinstance(payload, dict):
        raise ApiError(422, [item(("body",), "Input should be a valid dictionary", "dict_type")])
    rows, batch = rows_of(payload, serving.settings.max_batch_rows)
    model = await resolve_model(serving.store, name, choice)
    predictions = predict(model, rows, serving.metrics, ("body", "rows") if batch else None, record=serving.recorder(request, choice))
    # Built by hand and not re-validated: the hot path (response_model documents it).
    return Json({"model": model.name, "version": model.version, "predictions": predictions})


@router.post(
    "/models/{name}/predict",
    summary="Predict one row or a batch",
    response_model=PredictResponse,
    responses=PREDICT_RESPONSES,
    openapi_extra=predict_openapi(BODY, True, ("name", "Registered model name")),
)
async def predict_with_model(request: Request) -> JSONResponse:
    return await _answer(request.path_params["name"], request)


@router.post(
    "/predict/{dataset}",
    summary="Predict with a dataset's production model (penguins, covertype)",
    response_model=PredictResponse,
    responses=PREDICT_RESPONSES,
    openapi_extra=predict_openapi(BODY, True, ("dataset", "Dataset whose production model answers")),
)
async def predict_dataset(request: Request) -> JSONResponse:
    datasets = serving_of(request).settings.datasets
    dataset = request.path_params["dataset"]
    name = datasets.get(dataset)
    if name is None:
        raise not_found(("path", "dataset"), f"unknown dataset {dataset!r}; known: {', '.join(datasets)}")
    return await _answer(name, request)
