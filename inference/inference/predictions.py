"""Rows in, predictions out: validation against the model's feature spec, then its compiled path."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from inference.errors import ApiError, Loc, capped, invalid, item
from inference.feature_spec import FieldError
from inference.metrics import Metrics
from inference.registry import LoadedModel

# Called with the model, the rows, their predictions and the model's seconds: the
# request's prediction log entry (inference.deps.Serving.recorder).
Recorder = Callable[[LoadedModel, list[Any], list[dict[str, Any]], float], None]


def rows_of(payload: dict[str, Any], max_rows: int) -> tuple[list[Any], bool]:
    """The rows of a platform predict body (one row, or {"rows": [...]}), and whether it was a batch."""
    if set(payload) != {"rows"}:
        return [payload], False
    return batch_rows(payload["rows"], "rows", "row", max_rows), True


def batch_rows(rows: Any, key: str, noun: str, limit: int) -> list[Any]:
    """The list under `key` of a batch body, or a 422: not a list, empty, or over `limit` (`noun`: what a row is called)."""
    loc = ("body", key)
    if not isinstance(rows, list):
        raise invalid(loc, f"must be a list of {noun}s", "list_type")
    if not rows:
        raise invalid(loc, f"is empty: send at least one {noun}", "too_short")
    if len(rows) > limit:
        raise invalid(loc, f"has {len(rows)} {noun}s; at most {limit} per request", "too_long")
    return rows


def problems(errors: list[FieldError], prefix: Loc) -> list[dict[str, Any]]:
    """Feature-spec errors in the one error shape; a batch row's location carries its index."""
    return [item((*prefix, *(() if e.row is None else (e.row,)), e.field), e.reason, e.type, e.row) for e in errors]


def predict(
    model: LoadedModel,
    rows: list[Any],
    metrics: Metrics,
    batch_loc: Loc | None = None,
    describe: Callable[[list[FieldError]], list[dict[str, Any]]] | None = None,
    record: Recorder | None = None,
) -> list[dict[str, Any]]:
    """Each row's label, its name, confidence and every class's probability; 422 naming every bad field.

    `batch_loc` is where the rows sit in the body when they came as a batch (`("body", "rows")`);
    `describe` places the errors of a body of another shape; `record` gets what was predicted.
    """
    started = time.perf_counter()
    batch = batch_loc is not None
    errors = [e for i, row in enumerate(rows) for e in model.spec.check_row(row, i if batch else None)]
    if errors:
        raise ApiError(422, capped(describe(errors) if describe else problems(errors, batch_loc or ("body",))))
    proba = model.probabilities(rows)
    seconds = time.perf_counter() - started
    # Per model, computed once (inference.registry.LoadedModel): the answer is built from them.
    classes, keys, names = model.classes, model.class_keys, model.class_names
    counted = metrics.predicted(model.name, model.version, keys)
    out = []
    for row_proba in proba:
        best = row_proba.index(max(row_proba))
        out.append(
            {"label": classes[best], "label_name": names[best], "confidence": row_proba[best], "probabilities": dict(zip(keys, row_proba))}
        )
        counted[best].inc()
    metrics.model_seconds(model.name, model.version).observe(seconds)
    if record is not None:
        record(model, rows, out, seconds)
    return out
