"""Following the registry's alias moves at once: MLflow's signed webhooks, and every replica watching the history.

MLflow (>= 3.3, SQL backends) posts `model_version_alias.created` and `.deleted`
to one address, signed with the installation's secret (INFERENCE_WEBHOOK_SECRET, or
the one mlflow/start_server.py generates into INFERENCE_WEBHOOK_SECRET_FILE; it
registers the webhook at each start). Only one replica
receives a delivery. It appends the move to the alias history in MySQL, and
every replica watches that table's newest id every INFERENCE_MOVES_WATCH_SECONDS:
a new row makes each one ask the registry for that model at once. MySQL is the
one place every replica already reaches, in compose and Kubernetes alike, with
no list of peers to keep; the registry stays the truth, the row is only a nudge,
and the poll every INFERENCE_REFRESH_SECONDS still catches a lost hook.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from pathlib import Path

from inference.history import History
from inference.model_store import ModelStore
from inference.settings import Settings

log = logging.getLogger(__name__)

# MLflow's delivery headers (mlflow.webhooks.constants) and signature scheme (mlflow.webhooks.delivery):
# "v1," + base64(HMAC-SHA256(secret, f"{delivery_id}.{timestamp}.{body}")).
SIGNATURE_HEADER = "x-mlflow-signature"
TIMESTAMP_HEADER = "x-mlflow-timestamp"
DELIVERY_ID_HEADER = "x-mlflow-delivery-id"
SIGNATURE_VERSION = "v1"


class WebhookSecret:
    """The secret deliveries are checked with: the configured one, else the installation's file.

    The file is read until it has a value (mlflow writes it on its first start, which
    may come after this process's), then kept.
    """

    def __init__(self, settings: Settings):
        self._value = settings.webhook_secret
        self._path = settings.webhook_secret_file

    def get(self) -> str:
        if not self._value and self._path:
            try:
                self._value = Path(self._path).read_text().strip()
            except OSError:
                return ""
        return self._value


class BadSignature(Exception):
    """The delivery is not MLflow's with this installation's secret (reason in the message)."""


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    content = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def verify(secret: str, headers: Mapping[str, str], body: bytes, max_age_seconds: float, now: float | None = None) -> None:
    """Raise BadSignature unless the body was signed with `secret` within `max_age_seconds`."""
    if not secret:
        raise BadSignature("no webhook secret (INFERENCE_WEBHOOK_SECRET, or INFERENCE_WEBHOOK_SECRET_FILE) yet: every delivery is refused")
    signature, timestamp, delivery_id = (headers.get(h) for h in (SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_ID_HEADER))
    if not signature or not timestamp or not delivery_id:
        raise BadSignature(f"missing {SIGNATURE_HEADER}, {TIMESTAMP_HEADER} or {DELIVERY_ID_HEADER}")
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        raise BadSignature(f"{TIMESTAMP_HEADER} is not a Unix time") from None
    if age > max_age_seconds:
        raise BadSignature(f"the delivery's timestamp is {age:.0f} s away from now (at most {max_age_seconds:.0f} s)")
    expected = sign(secret, delivery_id, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise BadSignature("the signature does not match this installation's INFERENCE_WEBHOOK_SECRET")


# How long a replica keeps asking the registry for a recorded move it does not see there yet
# (a rollback is recorded just before the alias moves).
PENDING_SECONDS = 10.0


async def follow_history(store: ModelStore, history: History, every: float) -> None:
    """Background task: refresh a model as soon as any replica (or a rollback) appends a move of it."""
    last: int | None = None
    # name -> (the production version the history says, until when to keep asking for it)
    pending: dict[str, tuple[str | None, float]] = {}
    alias = store.settings.production_alias
    while True:
        try:
            if last is None:
                last = await asyncio.to_thread(history.last_id)
            else:
                moves = await asyncio.to_thread(history.since, last)
                for move in moves:
                    last = max(last, move.id)
                    if move.model_name in store.settings.model_names:
                        store.forget_alias(move.model_name, move.alias)
                        if move.alias == alias:
                            pending[move.model_name] = (move.to_version, time.monotonic() + PENDING_SECONDS)
                        else:
                            pending.setdefault(move.model_name, (None, 0.0))
                for name, (target, until) in list(pending.items()):
                    await asyncio.to_thread(store.refresh_model, name, "webhook")
                    current = store.production.get(name)
                    if target is None or (current is not None and current.version == target) or time.monotonic() > until:
                        del pending[name]
        except Exception as exc:  # MySQL away: the registry poll still catches up
            log.debug("alias history not readable now: %s", exc)
        await asyncio.sleep(every)
