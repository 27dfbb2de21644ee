"""What routes need, as FastAPI dependencies: settings, the model store, metrics, the model that answers.

A route states its needs in its signature (`serving: ServingDep`, `choice: ChoiceDep`)
instead of reaching into `request.app.state`; tests can override any of them.

The predict routes are the exception: they take the request alone and read what they
need with `serving_of`, `choice_of` and `json_body`, document it with `predict_openapi`,
and are served as `PlainRoute`s. FastAPI's parameter machinery (a pydantic validation per
parameter, the body's content type parsed as a MIME message) cost a one-row prediction
more than its model did, and its request handler still cost a tenth of it with nothing
left to resolve.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.routing import APIRoute
from starlette.routing import request_response

from inference import fastjson
from inference.errors import ApiError, invalid, item, not_found, unavailable
from inference.metrics import Metrics
from inference.model_store import ModelStore, NotServing
from inference.prediction_log import PredictionLog
from inference.predictions import Recorder
from inference.registry import LoadedModel, ModelNotFound
from inference.request_id import request_id
from inference.settings import Settings
from inference.shadow import Shadow

log = logging.getLogger("inference")


@dataclass(frozen=True)
class Serving:
    """What the routes work with, made once per app (the store in the lifespan)."""

    settings: Settings
    store: ModelStore
    metrics: Metrics
    # None with PREDICTION_LOG=off.
    prediction_log: PredictionLog | None = None
    # None with INFERENCE_SHADOW=off.
    shadow: Shadow | None = None

    def recorder(self, request: Request, choice: Choice, actual: Any = None) -> Recorder | None:
        """What a route passes to `predict` so its predictions are recorded, with its id and path.

        Production's answers to a request that chose no version or alias are offered to the
        challenger too (`actual`: the true class the caller sent, if any).
        """
        log = self.prediction_log
        shadow = self.shadow if choice.version is None and choice.alias is None else None
        if log is None and shadow is None:
            return None
        rid, route = request_id(request.scope), request.scope["path"][:64]
        if shadow is None:
            return lambda model, rows, predictions, seconds: log.record(rid, route, model, rows, predictions, seconds)  # type: ignore[union-attr]

        def record(model: LoadedModel, rows: list[Any], predictions: list[dict[str, Any]], seconds: float) -> None:
            if log is not None:
                log.record(rid, route, model, rows, predictions, seconds)
            shadow.offer(rid, route, model, rows, predictions, actual)

        return record


# One dependency for the three, and `async def`: every dependency FastAPI resolves costs
# each request time, and a plain `def` one even a hop through its thread pool (together
# they took two thirds of a one-row prediction's throughput).
async def get_serving(request: Request) -> Serving:
    serving: Serving = request.app.state.serving
    return serving


ServingDep = Annotated[Serving, Depends(get_serving)]


def serving_of(request: Request) -> Serving:
    serving: Serving = request.app.state.serving
    return serving


@dataclass(frozen=True)
class Choice:
    """Which version the caller asked for: production unless `version` or `alias` is given."""

    version: str | None = None
    alias: str | None = None


VERSION_PATTERN = r"^[0-9]+$"
ALIAS_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
VERSION_DESCRIPTION = "Registered version to answer instead of production"
ALIAS_DESCRIPTION = "Alias (e.g. challenger) whose version answers instead of production"


async def get_choice(
    version: Annotated[str | None, Query(pattern=VERSION_PATTERN, description=VERSION_DESCRIPTION)] = None,
    alias: Annotated[str | None, Query(pattern=ALIAS_PATTERN, description=ALIAS_DESCRIPTION)] = None,
) -> Choice:
    return _both_checked(version, alias)


PRODUCTION = Choice()
# \Z, not $: "$" also matches before a trailing newline.
_CHOICE_CHECKS = tuple(
    (name, pattern, re.compile(pattern.replace("$", r"\Z"))) for name, pattern in (("version", VERSION_PATTERN), ("alias", ALIAS_PATTERN))
)


def choice_of(request: Request) -> Choice:
    """`get_choice` for the predict routes: the same rules and errors, nothing to do without a query string."""
    if not request.scope.get("query_string"):
        return PRODUCTION
    query = request.query_params
    for name, pattern, compiled in _CHOICE_CHECKS:
        value = query.get(name)
        if value is not None and not compiled.match(value):
            raise ApiError(422, [item(("query", name), f"String should match pattern '{pattern}'", "string_pattern_mismatch")])
    return _both_checked(query.get("version"), query.get("alias"))


def _both_checked(version: str | None, alias: str | None) -> Choice:
    if version is not None and alias is not None:
        raise invalid(("query", "version"), "give either version or alias, not both")
    return Choice(version, alias)


ChoiceDep = Annotated[Choice, Depends(get_choice)]


# No body, or a body FastAPI would not have parsed as JSON (its content type is not JSON).
MISSING: Any = object()


def _is_json(content_type: str) -> bool:
    # FastAPI's rule: application/json or application/*+json.
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def json_body(request: Request) -> Any:
    """The request's JSON body as FastAPI reads a body parameter: MISSING when empty, the bytes when not JSON; 422 when it does not parse."""
    body = await request.body()
    if not body:
        return MISSING
    content_type = request.headers.get("content-type")
    if content_type is None or not _is_json(content_type):
        return body
    try:
        return fastjson.loads(body)
    except ValueError as exc:  # json.JSONDecodeError, or bytes that are not UTF-8/16/32
        raise ApiError(422, [item(("body", getattr(exc, "pos", 0)), "JSON decode error", "json_invalid")]) from None


def predict_openapi(body_description: str, body_required: bool, path: tuple[str, str] | None = None) -> dict[str, Any]:
    """What FastAPI would document for the parameters the predict routes read themselves."""

    def query(name: str, pattern: str, description: str) -> dict[str, Any]:
        schema = {"anyOf": [{"type": "string", "pattern": pattern}, {"type": "null"}], "description": description, "title": name.title()}
        return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}

    parameters = [query("version", VERSION_PATTERN, VERSION_DESCRIPTION), query("alias", ALIAS_PATTERN, ALIAS_DESCRIPTION)]
    if path is not None:
        parameters.insert(0, {"name": path[0], "in": "path", "required": True, "schema": {"type": "string", "title": path[0].title()}})
    body = {"description": body_description}
    return {
        "parameters": parameters,
        "requestBody": {"required": body_required, "content": {"application/json": {"schema": body}}},
    }


class PlainRoute(APIRoute):
    """A route FastAPI documents as any other and Starlette answers: `endpoint(request)` returns the Response.

    FastAPI's request handler (its exit stacks, `solve_dependencies` even for a route
    without parameters, the response model) is not on the way; the OpenAPI document is
    built from the route as before. Its dependencies are the request checks the app adds
    (the API-key check): each is run through its `of_request`, and a dependency without
    one is refused when the app is made rather than skipped.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any):
        super().__init__(path, endpoint, **kwargs)
        if len(inspect.signature(endpoint).parameters) != 1:
            raise TypeError(f"{path}: a PlainRoute's endpoint takes the request alone, {endpoint.__name__} takes more")
        checks: list[Callable[[Request], Awaitable[None]]] = []
        for dependency in self.dependencies:
            check = getattr(dependency.dependency, "of_request", None)
            if check is None:
                raise TypeError(f"{path}: a PlainRoute runs only request checks (of_request), not {dependency.dependency!r}")
            checks.append(check)

        async def answer(request: Request) -> Response:
            for check in checks:
                await check(request)
            response: Response = await endpoint(request)
            return response

        self.app = request_response(answer) if checks else request_response(endpoint)


async def resolve_model(store: ModelStore, name: str, choice: Choice) -> LoadedModel:
    """The model that answers: production, or the version or alias asked for; ApiError otherwise."""
    try:
        if choice.version is None and choice.alias is None:
            return store.serving(name)
        return await asyncio.to_thread(store.choose, name, choice.version, choice.alias)
    except ModelNotFound as exc:
        loc = ("query", "version") if choice.version else ("query", "alias") if choice.alias else ("path", "name")
        raise not_found(loc, str(exc)) from None
    except NotServing as exc:
        raise unavailable(f"{name} cannot answer yet: {exc}") from None
    except Exception as exc:  # the registry failed while loading another version
        log.exception("loading %s %s", name, choice)
        raise unavailable(f"cannot load {name} from the registry now: {exc}") from None
