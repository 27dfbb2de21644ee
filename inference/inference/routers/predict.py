"""The platform's predict routes: one row or a batch, for a model by name or a dataset's production model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from inference.deps import Choice, ChoiceDep, Serving, ServingDep, resolve_model
from inference.errors import not_found
from inference.predictions import predict, rows_of
from inference.schemas import ErrorResponse, PredictResponse

# Every route here predicts: the app adds the API-key check when keys are set (inference.api_keys).
router = APIRouter(tags=["predict"])

# The body's precise schema and examples come from the served models (inference.openapi).
PredictBody = Annotated[dict[str, Any], Body(description='One row (an object of raw features) or a batch: {"rows": [row, ...]}')]
PREDICT_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "API keys are configured (INFERENCE_API_KEYS) and none valid was given"},
    404: {"model": ErrorResponse, "description": "Unknown model, version or alias"},
    422: {"model": ErrorResponse, "description": "Rows that do not fit the model's feature spec: where, why, and the row in a batch"},
    503: {"model": ErrorResponse, "description": "No version of the model can answer yet"},
}


async def _answer(name: str, payload: dict[str, Any], choice: Choice, serving: Serving, request: Request) -> JSONResponse:
    rows, batch = rows_of(payload, serving.settings.max_batch_rows)
    model = await resolve_model(serving.store, name, choice)
    predictions = predict(model, rows, serving.metrics, ("body", "rows") if batch else None, record=serving.recorder(request))
    # Built by hand and not re-validated: the hot path (response_model documents it).
    return JSONResponse({"model": model.name, "version": model.version, "predictions": predictions})


@router.post("/models/{name}/predict", summary="Predict one row or a batch", response_model=PredictResponse, responses=PREDICT_RESPONSES)
async def predict_with_model(name: str, payload: PredictBody, choice: ChoiceDep, serving: ServingDep, request: Request) -> JSONResponse:
    return await _answer(name, payload, choice, serving, request)


@router.post(
    "/predict/{dataset}",
    summary="Predict with a dataset's production model (penguins, covertype)",
    response_model=PredictResponse,
    responses=PREDICT_RESPONSES,
)
async def predict_dataset(dataset: str, payload: PredictBody, choice: ChoiceDep, serving: ServingDep, request: Request) -> JSONResponse:
    datasets = serving.settings.datasets
    name = datasets.get(dataset)
    if name is None:
        raise not_found(("path", "dataset"), f"unknown dataset {dataset!r}; known: {', '.join(datasets)}")
    return await _answer(name, payload, choice, serving, request)
