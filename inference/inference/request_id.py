"""Every request's id: the caller's X-Request-ID if it gives a valid one, else a new uuid4 (hex).

The id is answered in the X-Request-ID header of every response and recorded with
the request's predictions (inference.prediction_log), so a caller can find its own
predictions in the `predictions` table.
"""

from __future__ import annotations

import os
import re
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
    return rid if rid is not None else new_id()


# A random (version 4) UUID's bits: 122 random, the version nibble 4, the variant bits 10.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (0x4000 << 64) | (0x8000 << 48)
# Random bytes for this many ids at a time: one getrandom() call instead of one per request.
_BATCH = 256
_pool: list[int] = []


def new_id() -> str:
    """What uuid.uuid4().hex gives (os.urandom's bytes), without a UUID object or a system call per id."""
    if not _pool:
        block = os.urandom(16 * _BATCH)
        _pool.extend(int.from_bytes(block[i : i + 16]) for i in range(0, len(block), 16))
    return f"{_pool.pop() & _CLEAR | _SET:032x}"


# A forked worker must not hand out its parent's ids.
os.register_at_fork(after_in_child=_pool.clear)


class RequestId:
    """Pure ASGI middleware: sets scope["request_id"] and answers it in X-Request-ID; a bad header is a 422."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((value for name, value in scope.get("headers") or () if name == HEADER), None)
        if given is None:
            rid = new_id()
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
