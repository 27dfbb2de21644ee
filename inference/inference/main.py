"""HTTP API of the inference service."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from inference.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        # Registered-model versions loaded so far, by model name.
        app.state.loaded = {}
        yield

    app = FastAPI(
        title="MLOps platform inference",
        description="Predicts with the production model of each dataset from the MLflow registry.",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.get("/health", summary="The process is alive")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready", summary="Which configured models are loaded")
    def ready() -> JSONResponse:
        loaded = app.state.loaded
        missing = [name for name in settings.model_names if name not in loaded]
        body = {
            "ready": not missing,
            "loaded": loaded,
            "missing": {name: "no production version loaded" for name in missing},
        }
        return JSONResponse(body, status_code=200 if not missing else 503)

    return app


app = create_app()
