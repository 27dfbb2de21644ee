"""HTTP API of the inference service.

No `from __future__ import annotations` here: FastAPI resolves the route
annotations, and some are built per app (the served model names).
"""


import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response

from inference import original_clients
from inference.api_keys import require_api_key
from inference.metrics import Metrics, MetricsMiddleware
from inference.model_store import ModelStore, NotServing
from inference.registry import LoadedModel, ModelNotFound, Registry
from inference.schemas import (
    CovertypePrediction, ModelInfo, PenguinBatchResponse, PenguinPrediction, PredictResponse, Problem, ValidationProblem,
)
from inference.settings import Settings

log = logging.getLogger("inference")

VersionQuery = Annotated[str | None, Query(pattern=r"^[0-9]+$", description="Registered version to answer instead of production")]
AliasQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Alias (e.g. challenger) whose version answers instead of production")]
# The body's precise schema and examples come from the served models (see `with_row_schemas`).
PredictBody = Annotated[dict[str, Any], Body(description="One row (an object of raw features) or a batch: {\"rows\": [row, ...]}")]
# Any JSON, null or no body included: which of the two accepted shapes it is decides
# the model, and anything else is told both shapes (see original_clients).
OriginalBody = Annotated[Any, Body(description='One penguin object, or {"features": [...]} with the Covertype feature values in data_api\'s column order')]
PenguinsBody = Annotated[Any, Body(description='{"penguins": [penguin, ...]}, at most 100')]
PREDICT_PATHS = ("/models/{name}/predict", "/predict/{dataset}")
PREDICT_RESPONSES = {
    401: {"model": Problem, "description": "API keys are configured (INFERENCE_API_KEYS) and none was given"},
    404: {"model": Problem, "description": "Unknown model, version or alias"},
    422: {"model": ValidationProblem, "description": "Rows that do not fit the model's feature spec, with field and reason"},
    503: {"model": Problem, "description": "No version of the model can answer yet"},
}


def _rows(payload: dict[str, Any], max_rows: int) -> tuple[list[Any], bool]:
    """The rows of a request, and whether it was a batch."""
    if set(payload) != {"rows"}:
        return [payload], False
    rows = payload["rows"]
    if not isinstance(rows, list):
        raise HTTPException(422, [{"field": "rows", "reason": "must be a list of rows"}])
    if not rows:
        raise HTTPException(422, [{"field": "rows", "reason": "is empty: send at least one row"}])
    if len(rows) > max_rows:
        raise HTTPException(422, [{"field": "rows", "reason": f"has {len(rows)} rows; at most {max_rows} per request"}])
    return rows, True


def _predictions(model: LoadedModel, rows: list[dict[str, Any]], batch: bool, metrics: Metrics) -> list[dict[str, Any]]:
    """Validated rows' predictions, each with its label, confidence and every class's probability."""
    errors = [e.as_dict() for i, row in enumerate(rows) for e in model.spec.check_row(row, i if batch else None)]
    if errors:
        raise HTTPException(422, errors)
    proba = model.predict_proba(rows)
    classes = model.classes
    keys = [str(c) for c in classes]
    out = []
    for row_proba in proba.tolist():
        best = max(range(len(row_proba)), key=row_proba.__getitem__)
        label = classes[best]
        out.append({"label": label, "label_name": model.spec.label_name(label), "confidence": row_proba[best],
                    "probabilities": dict(zip(keys, row_proba))})
        metrics.predictions.labels(model.name, model.version, keys[best]).inc()
    return out


def with_row_schemas(schema: dict[str, Any], models: dict[str, LoadedModel], settings: Settings) -> dict[str, Any]:
    """Give the predict bodies the row schema and input example of every production model.

    Generated from each model's logged feature spec, so clients, the docs page and
    fuzzers see the real contract of what is being served now.
    """
    if not models:
        return schema
    max_rows = settings.max_batch_rows
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    rows, examples = [], {}
    for name, model in sorted(models.items()):
        components[f"{name}.row"] = model.spec.row_schema()
        rows.append({"$ref": f"#/components/schemas/{name}.row"})
        if model.input_example:
            examples[f"{name}: one row"] = {"summary": f"One row for {name} version {model.version}", "value": model.input_example[0]}
            examples[f"{name}: batch"] = {"summary": f"A batch for {name}", "value": {"rows": model.input_example[:3]}}
    row = rows[0] if len(rows) == 1 else {"anyOf": rows}
    batch = {
        "type": "object", "required": ["rows"], "additionalProperties": False,
        "properties": {"rows": {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}},
    }
    for path in PREDICT_PATHS:
        content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        content["schema"] = {"anyOf": [row, batch], "description": content["schema"].get("description")}
        if examples:
            content["examples"] = examples
    return _with_original_client_schemas(schema, models.get(settings.penguins_model), models.get(settings.covertype_model))


def _request_content(schema: dict[str, Any], path: str) -> dict[str, Any]:
    return schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]


def _with_original_client_schemas(schema: dict[str, Any], penguins: LoadedModel | None, covertype: LoadedModel | None) -> dict[str, Any]:
    """The original clients' bodies and working examples, from the same served specs."""
    components = schema["components"]["schemas"]
    penguin_row = {"$ref": f"#/components/schemas/{penguins.name}.row"} if penguins else None
    bodies = original_clients.request_schemas(penguin_row, covertype.spec if covertype else None)
    shapes, examples = [], {}
    if penguins:
        shapes.append(penguin_row)
        batch = _request_content(schema, "/predict/batch")
        batch["schema"] = bodies["penguins"]
        if penguins.input_example:
            examples["one penguin"] = {"summary": f"{penguins.name} version {penguins.version}", "value": penguins.input_example[0]}
            batch["examples"] = {"two penguins": {"summary": "A batch", "value": {"penguins": penguins.input_example[:2]}}}
    if covertype:
        components["covertype.features"] = bodies["features"]
        shapes.append({"$ref": "#/components/schemas/covertype.features"})
        if covertype.input_example:
            values = [covertype.input_example[0][name] for name in covertype.spec.names]
            examples["covertype features"] = {"summary": f"{covertype.name} version {covertype.version}: a row as data_api delivers it",
                                              "value": {"features": values}}
    if shapes:
        content = _request_content(schema, "/predict")
        content["schema"] = {"anyOf": shapes, "description": content["schema"].get("description")}
        if examples:
            content["examples"] = examples
    return schema


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()
    # The predict routes need one of INFERENCE_API_KEYS when any is set.
    keyed = [Depends(require_api_key(settings))]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = ModelStore(settings, registry or Registry(settings))
        app.state.store = store
        # Off the request path: requests keep being answered by the model that
        # serves now while a new production version loads.
        refresher = asyncio.create_task(store.keep_current())
        yield
        refresher.cancel()

    app = FastAPI(
        title="MLOps platform inference",
        description="Predicts with the production model of each dataset from the MLflow registry, "
                    "or with another registered version or alias the caller chooses.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    # The served models and datasets, listed in the OpenAPI schema for clients and fuzzers.
    ModelName = Annotated[str, Path(description="Registered model name", json_schema_extra={"enum": settings.model_names})]
    Dataset = Annotated[str, Path(description="Dataset", json_schema_extra={"enum": list(settings.datasets)})]

    def store_of(request: Request) -> ModelStore:
        return request.app.state.store

    async def model_for(request: Request, name: str, version: str | None, alias: str | None) -> LoadedModel:
        """The model that answers: production, or the version or alias asked for; HTTP errors otherwise."""
        if version is not None and alias is not None:
            raise HTTPException(422, [{"field": "version", "reason": "give either version or alias, not both"}])
        store = store_of(request)
        try:
            if version is None and alias is None:
                return store.serving(name)
            return await asyncio.to_thread(store.choose, name, version, alias)
        except ModelNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except NotServing as exc:
            raise HTTPException(503, f"{name} cannot answer yet: {exc}") from None
        except Exception as exc:  # the registry failed while loading another version
            log.exception("loading %s version=%s alias=%s", name, version, alias)
            raise HTTPException(503, f"cannot load {name} from the registry now: {exc}") from None

    async def predict(request: Request, name: str, payload: dict[str, Any], version: str | None, alias: str | None):
        rows, batch = _rows(payload, settings.max_batch_rows)
        model = await model_for(request, name, version, alias)
        predictions = _predictions(model, rows, batch, metrics)
        return JSONResponse({"model": model.name, "version": model.version, "predictions": predictions})

    @app.get("/health", summary="The process is alive")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", summary="Which configured models are loaded, at which version",
             responses={503: {"description": "A configured model has no production version loaded"}})
    async def ready(request: Request) -> JSONResponse:
        store = store_of(request)
        models = {
            name: {"version": store.production[name].version if name in store.production else None, **store.status[name]}
            for name in settings.model_names
        }
        ok = all(m["version"] is not None for m in models.values())
        return JSONResponse({"ready": ok, "models": models}, status_code=200 if ok else 503)

    @app.get("/models", summary="Every served model: production version, other versions and aliases, loaded versions",
             responses={503: {"model": Problem}})
    async def models(request: Request) -> dict[str, Any]:
        store = store_of(request)
        out = []
        for name in settings.model_names:
            try:
                described = await asyncio.to_thread(store.registry.describe, name)
            except ModelNotFound:
                described = {"aliases": {}, "versions": []}
            except Exception as exc:
                raise HTTPException(503, f"the MLflow registry cannot be reached: {exc}") from None
            out.append({
                "name": name, "dataset": name.removesuffix("-classifier"),
                "production_version": described["aliases"].get(settings.production_alias),
                "aliases": described["aliases"], "versions": described["versions"],
                "loaded_versions": store.loaded_versions(name),
                "status": store.status[name],
            })
        return {"models": out}

    @app.get("/models/{name}", summary="The production version's metrics, signature and feature spec",
             responses={404: {"model": Problem}, 503: {"model": Problem}})
    async def model_detail(request: Request, name: ModelName, version: VersionQuery = None, alias: AliasQuery = None) -> dict[str, Any]:
        model = await model_for(request, name, version, alias)
        try:
            metrics_of_run = await asyncio.to_thread(store_of(request).registry.run_metrics, model.run_id)
        except Exception as exc:
            raise HTTPException(503, f"the MLflow registry cannot be reached: {exc}") from None
        return {
            "name": model.name, "version": model.version, "run_id": model.run_id, "metrics": metrics_of_run,
            "signature": model.signature, "feature_spec": model.spec.raw, "input_example": model.input_example,
            "classes": model.classes, "fast_path": model.compiled is not None,
        }

    @app.post("/models/{name}/predict", summary="Predict one row or a batch", response_model=PredictResponse, responses=PREDICT_RESPONSES,
              dependencies=keyed)
    async def predict_with_model(request: Request, name: ModelName, payload: PredictBody, version: VersionQuery = None, alias: AliasQuery = None):
        return await predict(request, name, payload, version, alias)

    # The original clients' routes, before /predict/{dataset} so that "batch" is not taken for a dataset.
    @app.post("/predict", summary="Predict one penguin, or one Covertype row given as {\"features\": [...]}",
              response_model=PenguinPrediction | CovertypePrediction, responses=PREDICT_RESPONSES, dependencies=keyed)
    async def predict_original(request: Request, payload: OriginalBody = None, version: VersionQuery = None, alias: AliasQuery = None):
        if original_clients.is_features_body(payload):
            model = await model_for(request, settings.covertype_model, version, alias)
            row, actual = original_clients.features_row(payload, model.spec)
            [prediction] = _predictions(model, [row], False, metrics)
            return JSONResponse(original_clients.covertype_answer(prediction, model.name, model.version, actual))
        model = await model_for(request, settings.penguins_model, version, alias)
        row = original_clients.check_penguin_body(payload, model.spec)
        [prediction] = _predictions(model, [row], False, metrics)
        return JSONResponse(original_clients.penguin_answer(prediction, model.name, model.version))

    @app.post("/predict/batch", summary=f"Predict up to {original_clients.PENGUIN_BATCH_LIMIT} penguins",
              response_model=PenguinBatchResponse, responses=PREDICT_RESPONSES, dependencies=keyed)
    async def predict_penguins(request: Request, payload: PenguinsBody = None, version: VersionQuery = None, alias: AliasQuery = None):
        rows = original_clients.penguin_rows(payload)
        model = await model_for(request, settings.penguins_model, version, alias)
        predictions = _predictions(model, rows, True, metrics)
        return JSONResponse({"model": model.name, "version": model.version, "predictions": [
            original_clients.penguin_answer(p, model.name, model.version) for p in predictions]})

    @app.get("/model/info", summary="The production penguin model: version, family, hyper-parameters, metrics, training run, features",
             response_model=ModelInfo, responses={404: {"model": Problem}, 503: {"model": Problem}})
    async def penguin_model_info(request: Request, version: VersionQuery = None, alias: AliasQuery = None) -> dict[str, Any]:
        model = await model_for(request, settings.penguins_model, version, alias)
        try:
            described = await asyncio.to_thread(store_of(request).registry.version_details, model.name, model.version)
        except Exception as exc:
            raise HTTPException(503, f"the MLflow registry cannot be reached: {exc}") from None
        return original_clients.model_info(model.name, model.version, model.spec, described)

    @app.post("/predict/{dataset}", summary="Predict with a dataset's production model (penguins, covertype)",
              response_model=PredictResponse, responses=PREDICT_RESPONSES, dependencies=keyed)
    async def predict_dataset(request: Request, payload: PredictBody,
                              dataset: Dataset,
                              version: VersionQuery = None, alias: AliasQuery = None):
        name = settings.datasets.get(dataset)
        if name is None:
            raise HTTPException(404, f"unknown dataset {dataset!r}; known: {', '.join(settings.datasets)}")
        return await predict(request, name, payload, version, alias)

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    cached: dict[Any, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        """FastAPI's schema, rebuilt when the production versions change."""
        store: ModelStore | None = getattr(app.state, "store", None)
        production = dict(store.production) if store else {}
        key = tuple(sorted((name, model.version) for name, model in production.items()))
        if key not in cached:
            cached.clear()
            base = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            cached[key] = with_row_schemas(base, production, settings)
        return cached[key]

    app.openapi = openapi
    return app


app = create_app()
