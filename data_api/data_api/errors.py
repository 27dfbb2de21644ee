"""One error shape for every 4xx and 5xx answer, FastAPI's validation shape (inference answers the same):

    {"detail": [{"type": "exhausted", "loc": ["query", "group_number"], "msg": "All 10 batches ..."}]}

FastAPI answers a parameter it cannot parse with that list; the routes raise theirs
through `problem`, which FastAPI's own handler sends. The handlers below only put
Starlette's errors (unknown path, wrong method) into the list, and make a bad
group_number's message say the valid range. A client parses one shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

Loc = tuple[str | int, ...]
GROUP_LOCS = (("query", "group_number"), ("path", "group_number"))

# Starlette's own errors name no location.
_HTTP_TYPES = {404: "not_found", 405: "method_not_allowed"}


def problem(status: int, loc: Loc, msg: str, type_: str) -> HTTPException:
    """An answer other than 2xx with its one problem in the shape."""
    return HTTPException(status, detail=[{"type": type_, "loc": list(loc), "msg": msg}])


def unavailable(reason: str) -> HTTPException:
    return problem(503, (), reason, "unavailable")


def group_range(n_groups: int, got: Any = None) -> str:
    msg = f"group_number must be an integer between 1 and {n_groups}"
    return msg if got is None else f"{msg} (got {got!r})"


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not isinstance(exc.detail, list):
            type_ = _HTTP_TYPES.get(exc.status_code, "http_error")
            exc = HTTPException(exc.status_code, [{"type": type_, "loc": [], "msg": str(exc.detail)}], exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's message for "abc" or a missing group_number does not say what is valid.
        n_groups = request.app.state.settings.n_groups

        def explained(err: dict[str, Any]) -> dict[str, Any]:
            if tuple(err.get("loc", ())) not in GROUP_LOCS:
                return err
            if err.get("type") == "missing":
                return {**err, "msg": f"group_number is required: an integer between 1 and {n_groups}"}
            return {**err, "msg": group_range(n_groups, err.get("input"))}

        errors = [explained(err) for err in exc.errors()]
        return await request_validation_exception_handler(request, RequestValidationError(errors, body=exc.body))
