"""An app serving one fitted penguins pipeline, with no registry: for tests of the
request path (keys, limits) that need real answers but not MLflow."""

from __future__ import annotations

import functools

from fastapi import FastAPI
from models import fitted
from specs import PENGUIN_ROW, PENGUINS_SPEC

from inference.deps import Serving
from inference.fast_path import compile_pipeline
from inference.feature_spec import FeatureSpec
from inference.main import create_app
from inference.metrics import Metrics
from inference.registry import LoadedModel
from inference.settings import Settings

PENGUINS = "penguins-classifier"


class OneModel:
    """The model store's calls the routes make, for one loaded model serving every name."""

    def __init__(self, model: LoadedModel, names: list[str]):
        self.production = {model.name: model}
        self.challenger: dict[str, LoadedModel] = {}
        # The other configured models never load here, as with a registry that has no version of them.
        self.status = {name: {"state": "starting", "detail": "not checked yet", "checked_at": None} for name in names}
        self.status[model.name] = {"state": "ready", "detail": None, "checked_at": None}
        self.model = model

    def serving(self, name: str) -> LoadedModel:
        return self.model


@functools.cache
def penguins_model() -> LoadedModel:
    pipeline = fitted(PENGUINS_SPEC, "lr")
    spec = FeatureSpec(PENGUINS_SPEC)
    return LoadedModel(PENGUINS, "1", None, pipeline, spec, None, [PENGUIN_ROW], compile_pipeline(pipeline, spec.names, [PENGUIN_ROW]))


def penguins_app(settings: Settings) -> FastAPI:
    """create_app with a loaded penguins model; use it without the lifespan (nothing asks a registry)."""
    app = create_app(settings)
    app.state.serving = Serving(settings, OneModel(penguins_model(), settings.model_names), Metrics())  # type: ignore[arg-type]
    return app
