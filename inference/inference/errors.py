"""One error shape for every 4xx and 5xx answer: FastAPI's own validation shape.

    {"detail": [{"type": "...", "loc": ["body", "rows", 2, "island"], "msg": "...", "row": 2}]}

FastAPI answers a body it cannot parse with that shape; the service answers
everything else (a row that does not fit the model's feature spec, an unknown
model, a model not ready) with the same, extended with `row`: the index of the
offending row in a batch. A client parses one shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

Loc = tuple[str | int, ...]


def item(loc: Loc, msg: str, type_: str, row: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type_, "loc": list(loc), "msg": msg}
    if row is not None:
        out["row"] = row
    return out


class ApiError(Exception):
    """An answer other than 2xx, with its problems in the one shape."""

    def __init__(self, status: int, problems: list[dict[str, Any]], headers: dict[str, str] | None = None):
        super().__init__(status, problems)
        self.status = status
        self.problems = problems
        self.headers = headers


def invalid(loc: Loc, msg: str, type_: str = "value_error") -> ApiError:
    return ApiError(422, [item(loc, msg, type_)])


def not_found(loc: Loc, msg: str) -> ApiError:
    return ApiError(404, [item(loc, msg, "not_found")])


def unavailable(msg: str) -> ApiError:
    return ApiError(503, [item((), msg, "unavailable")])


# Starlette's own errors (unknown path, wrong method) name no location.
_HTTP_TYPES = {404: "not_found", 405: "method_not_allowed"}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.problems}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's shape as it is; `input` and `ctx` can hold values JSON cannot carry.
        problems = capped([{k: v for k, v in e.items() if k not in ("url", "ctx")} for e in exc.errors()])
        return JSONResponse({"detail": jsonable_encoder(problems)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, list) else [item((), str(exc.detail), _HTTP_TYPES.get(exc.status_code, "http_error"))]
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


# A 422 names at most this many problems, then says how many more there were: a
# body of a million bad fields must not become a hundred-megabyte answer.
MAX_PROBLEMS = 20


def capped(problems: list[dict[str, Any]], limit: int = MAX_PROBLEMS) -> list[dict[str, Any]]:
    if len(problems) <= limit:
        return problems
    more = len(problems) - limit
    return [*problems[:limit], item(("body",), f"... and {more} more problems (the first {limit} are listed)", "too_many_errors")]


class BodyLimit:
    """Pure ASGI middleware: a body over `max_bytes` gets a 413 before anything parses it.

    Checked on Content-Length when there is one, and counted as it arrives otherwise
    (chunked uploads), so the event loop never holds more than the limit.
    """

    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # Found without building a dict of every header: this runs on each request.
        length = next((value for name, value in scope.get("headers") or () if name == b"content-length"), None)
        if length is not None and length.isdigit():
            if int(length) > self.max_bytes:
                return await self._too_large(send)
            # The server reads no more than Content-Length says: nothing left to count.
            return await self.app(scope, receive, send)
        seen = 0
        rejected = False

        async def counted() -> Any:
            # Over the limit: answer 413 now and tell the app the client is gone, so it
            # stops reading (FastAPI turns an exception here into a 400 of its own).
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    rejected = True
                    await self._too_large(send)
                    return {"type": "http.disconnect"}
            return message

        async def unless_rejected(message: Any) -> None:
            if not rejected:
                await send(message)

        try:
            await self.app(scope, counted, unless_rejected)
        except Exception:
            if not rejected:
                raise

    async def _too_large(self, send: Any) -> None:
        body = JSONResponse(
            {"detail": [item(("body",), f"the body is larger than {self.max_bytes} bytes (INFERENCE_MAX_BODY_BYTES)", "too_large")]},
            status_code=413,
        )
        await body({"type": "http"}, _no_receive, send)


async def _no_receive() -> Any:
    return {"type": "http.disconnect"}
