"""Optional API keys for the predict routes (INFERENCE_API_KEYS).

No keys configured: the routes stay open, as on a single-user machine. With
keys, a predict call needs `Authorization: Bearer <one of the keys>` and gets a
401 without one; /health, /ready and /metrics never need a key (probes and
scrapers), and the dependency is only attached to the predict routes.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from inference.errors import ApiError, item

# auto_error=False: a missing header is ours to answer (401 with a reason), and
# the scheme still shows up in the OpenAPI document so /docs can send a key.
bearer = HTTPBearer(auto_error=False, description="One of INFERENCE_API_KEYS (only when keys are configured)")


def parse_keys(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


def key_is_valid(given: str, keys: list[str]) -> bool:
    # Constant time per key, and every key is compared, so timing tells nothing.
    return bool(sum(secrets.compare_digest(given.encode(), key.encode()) for key in keys))


class ApiKeyCheck:
    """The key check: a FastAPI dependency (the bearer scheme documented in OpenAPI), and
    `of_request` for the routes FastAPI does not resolve dependencies for (inference.deps.PlainRoute)."""

    def __init__(self, keys: list[str]):
        self.keys = keys

    async def __call__(self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if credentials is None or not key_is_valid(credentials.credentials, self.keys):
            raise ApiError(
                401,
                [
                    item(
                        ("header", "Authorization"),
                        "this route needs an API key: send `Authorization: Bearer <key>` with one of INFERENCE_API_KEYS",
                        "unauthorized",
                    )
                ],
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def of_request(self, request: Request) -> None:
        await self(await bearer(request))


def api_key_check(api_keys: str) -> list[Any]:
    """The dependencies the predict routers get: the key check when keys are set, none otherwise.

    Decided once when the app is made, so an open service (the default) pays nothing per request.
    """
    keys = parse_keys(api_keys)
    return [Depends(ApiKeyCheck(keys))] if keys else []
