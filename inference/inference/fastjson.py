"""JSON in and out of the request path with orjson: one C call each way.

The standard library's encoder is built anew per call when given any option (as
Starlette's JSONResponse does) and walks the value in Python; for a one-row
prediction that was a tenth of the request's time.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi.responses import JSONResponse


class Json(JSONResponse):
    """JSONResponse encoded by orjson (NaN and infinity become null, as JSON has no such numbers)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def loads(body: bytes) -> Any:
    """A request body as Python values; json.JSONDecodeError when it is not JSON.

    orjson first; what it refuses goes through the standard library, which reads what
    callers have always been able to send (NaN, integers beyond 64 bits, lone surrogates)
    and names the position of real syntax errors.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)
