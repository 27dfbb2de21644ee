"""Every request's id: the caller's X-Request-ID if it gives a valid one, else a new uuid4 (hex).

The id is answered in the X-Request-ID header of every response and recorded with
the request's predictions (inference.prediction_log), so a caller can find its own
predictions in the `predictions` table.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.responses import JSONResponse

from inference.errors import item

HEADER = b"x-request-id"
# The predictions table's request_id column is VARCHAR(64); printable ASCII only, so it
# goes back into a response header as it came.
MAX_LENGTH = 64
_VALID = re.compile(rb"[\x21-\x7e]{1,64}")


def request_id(scope: Any) -> str:
    """The id the middleware gave this request (a new one if the middleware is not installed)."""
    rid = scope.get("request_id")
    return rid if rid is not None else uuid.uuid4().hex


class RequestId:
    """Pure ASGI middleware: sets scope["request_id"] and answers it in X-Request-ID; a bad header is a 422."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((value for name, value in scope.get("headers") or () if name == HEADER), None)
        if given is None:
            rid = uuid.uuid4().hex
        elif _VALID.fullmatch(given):
            rid = given.decode("ascii")
        else:
            reason = f"must be 1 to {MAX_LENGTH} printable ASCII characters without spaces (got {len(given)} bytes)"
            response = JSONResponse({"detail": [item(("header", "X-Request-ID"), reason, "value_error")]}, status_code=422)
            return await response(scope, receive, send)
        scope["request_id"] = rid
        raw = rid.encode("ascii")

        async def with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (HEADER, raw)]
            await send(message)

        await self.app(scope, receive, with_id)
