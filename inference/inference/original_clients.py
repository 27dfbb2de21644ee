"""The contracts of the two projects this platform grew out of, on top of the served models.

- The penguin service: `POST /predict` with one penguin object, `POST /predict/batch`
  with `{"penguins": [...]}`, `GET /model/info`; answers name the `species`.
- The Covertype course UI: `POST /predict` with `{"features": [...]}`, the feature values
  in the order data_api delivers them (the model's feature order); a row pasted whole
  from `GET /data` (target last) is accepted and its target echoed back as `actual`.

Only shapes are translated here: the rows go through the same validation and the same
compiled predict path as `/predict/{dataset}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inference.errors import invalid, item
from inference.feature_spec import FeatureSpec, FieldError
from inference.predictions import batch_rows

# The penguin project's documented batch limit.
PENGUIN_BATCH_LIMIT = 100

PENGUIN_SHAPE = (
    'a penguin object {"island": ..., "bill_length_mm": ..., "bill_depth_mm": ..., '
    '"flipper_length_mm": ..., "body_mass_g": ..., "sex": ...}'
)
FEATURES_SHAPE = '{"features": [...]}: the Covertype feature values in data_api\'s column order'


def is_features_body(payload: Any) -> bool:
    """Whether `POST /predict` got the Covertype UI's body rather than a penguin object."""
    return isinstance(payload, dict) and "features" in payload


def check_penguin_body(payload: Any, spec: FeatureSpec) -> dict[str, Any]:
    """A penguin object, or a 422 saying which two bodies `POST /predict` takes.

    An object that names at least one penguin field is a penguin with mistakes, and
    gets the usual per-field reasons; anything else is a body of the wrong shape.
    """
    if not isinstance(payload, dict) or not set(payload) & set(spec.names):
        raise invalid(("body",), f"POST /predict takes {PENGUIN_SHAPE} or {FEATURES_SHAPE}; got {_described(payload)}", "model_type")
    return payload


_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}


def _described(payload: Any) -> str:
    if isinstance(payload, dict):
        return "an object with fields " + ", ".join(map(str, list(payload)[:10])) if payload else "an empty object"
    return _JSON_TYPES.get(type(payload), type(payload).__name__)


def features_row(payload: dict[str, Any], spec: FeatureSpec) -> tuple[dict[str, Any], Any]:
    """The row named by a `{"features": [...]}` body, and the target value it carried (or None)."""
    if set(payload) != {"features"}:
        extra = sorted(map(str, set(payload) - {"features"}))[0]
        raise invalid(("body", extra), f"unknown field; {FEATURES_SHAPE} has no other field", "extra_forbidden")
    values = payload["features"]
    n = len(spec.names)
    expected = f"{n} values ({', '.join(spec.names)}), or {n + 1} with {spec.target} last as data_api delivers a row"
    if not isinstance(values, list):
        raise invalid(("body", "features"), f"must be a list of {expected}", "list_type")
    if len(values) not in (n, n + 1):
        raise invalid(("body", "features"), f"has {len(values)} values; expected {expected}")
    actual = values[n] if len(values) == n + 1 else None
    return dict(zip(spec.names, values)), actual


def features_problems(spec: FeatureSpec) -> Callable[[list[FieldError]], list[dict[str, Any]]]:
    """Errors of a feature list's row, placed at each value's position in the list and named."""

    def describe(errors: list[FieldError]) -> list[dict[str, Any]]:
        return [item(("body", "features", spec.names.index(e.field)), f"{e.field}: {e.reason}", e.type) for e in errors]

    return describe


def penguin_rows(payload: Any) -> list[Any]:
    """The penguins of a `POST /predict/batch` body, within the penguin project's limit."""
    if not isinstance(payload, dict) or set(payload) != {"penguins"}:
        raise invalid(("body", "penguins"), 'the body must be {"penguins": [penguin, ...]}', "model_type")
    return batch_rows(payload["penguins"], "penguins", "penguin", PENGUIN_BATCH_LIMIT)


def penguin_answer(prediction: dict[str, Any], model: str, version: str) -> dict[str, Any]:
    return {
        "species": prediction["label"],
        "confidence": prediction["confidence"],
        "probabilities": prediction["probabilities"],
        "model": model,
        "version": version,
    }


def covertype_answer(prediction: dict[str, Any], model: str, version: str, actual: Any) -> dict[str, Any]:
    answer = {
        "prediction": prediction["label"],
        "label_name": prediction["label_name"],
        "confidence": prediction["confidence"],
        "probabilities": prediction["probabilities"],
        "model": model,
        "version": version,
    }
    if actual is not None:
        answer["actual"] = actual
    return answer


def model_info(model_name: str, version: str, spec: FeatureSpec, described: dict[str, Any]) -> dict[str, Any]:
    """`GET /model/info`: what a person asks of the model that answers, in one object."""
    return {
        "name": model_name,
        "version": version,
        "aliases": described["aliases"],
        "family": described["family"],
        "hyperparameters": described["hyperparameters"],
        "metrics": described["metrics"],
        "trained_at": described["trained_at"],
        "registered_at": described["registered_at"],
        "dag_id": described["dag_id"],
        "dag_run_id": described["dag_run_id"],
        "run_id": described["run_id"],
        "target": spec.target,
        "classes": spec.classes,
        "features": spec.features,
    }


def request_schemas(penguin_row: dict[str, Any] | None, covertype: FeatureSpec | None) -> dict[str, Any]:
    """JSON Schemas of the two `POST /predict` bodies and of `POST /predict/batch`, from the served specs."""
    schemas: dict[str, Any] = {}
    if covertype is not None:
        items = [covertype.row_schema()["properties"][name] for name in covertype.names]
        items.append({"enum": list(covertype.classes), "description": f"{covertype.target} (optional; echoed as actual)"})
        schemas["features"] = {
            "type": "object",
            "required": ["features"],
            "additionalProperties": False,
            "properties": {
                "features": {
                    "type": "array",
                    "prefixItems": items,
                    "items": False,
                    "minItems": len(covertype.names),
                    "maxItems": len(covertype.names) + 1,
                    "description": f"{', '.join(covertype.names)}; {covertype.target} may follow",
                }
            },
        }
    if penguin_row is not None:
        schemas["penguin"] = penguin_row
        schemas["penguins"] = {
            "type": "object",
            "required": ["penguins"],
            "additionalProperties": False,
            "properties": {"penguins": {"type": "array", "items": penguin_row, "minItems": 1, "maxItems": PENGUIN_BATCH_LIMIT}},
        }
    return schemas
