"""Checking request rows against the feature spec a model was logged with.

The spec (columns, types, allowed categories, numeric ranges, classes) travels
with the model in MLflow; nothing about a dataset is hard-coded here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str
    row: int | None = None
    # pydantic's names for the kind of problem: missing, extra_forbidden, value_error, ...
    type: str = "value_error"


# The feature-spec format versions this service reads (contract/feature-spec.schema.json).
# Specs logged before versions existed carry none and are version 1.
KNOWN_SPEC_VERSIONS = (1,)


class UnknownSpecVersion(ValueError):
    """A model logged with a feature-spec format this service does not know."""


class FeatureSpec:
    """A model's input contract, parsed from its logged feature spec."""

    def __init__(self, spec: dict[str, Any]):
        version = spec.get("spec_version", 1)
        if version not in KNOWN_SPEC_VERSIONS:
            raise UnknownSpecVersion(
                f"its feature spec has spec_version {version!r}; this inference service reads versions "
                f"{', '.join(map(str, KNOWN_SPEC_VERSIONS))}: upgrade inference before serving it"
            )
        self.raw = spec
        self.features: list[dict[str, Any]] = spec["features"]
        self.names = [f["name"] for f in self.features]
        self.target: str = spec["target"]["name"]
        self.classes: list[Any] = spec["target"]["classes"]
        self.class_names: dict[str, str] = spec["target"].get("class_names", {})
        self._by_name = {f["name"]: f for f in self.features}
        self._categories = {f["name"]: set(f["categories"]) for f in self.features if f["kind"] == "categorical"}

    def check_row(self, row: Any, index: int | None = None) -> list[FieldError]:
        """Every problem of one row, each naming its field and the reason."""
        if not isinstance(row, dict):
            return [FieldError("(row)", f"must be a JSON object of features, got {type(row).__name__}", index, "dict_type")]
        errors = [
            FieldError(name, "unknown field; expected one of: " + ", ".join(self.names), index, "extra_forbidden")
            for name in row
            if name not in self._by_name
        ]
        for feature in self.features:
            name = feature["name"]
            value = row.get(name)
            if value is None:
                if not feature.get("nullable"):
                    errors.append(
                        FieldError(name, "missing", index, "missing") if name not in row else FieldError(name, "must not be null", index)
                    )
                continue
            reason = self._check_value(feature, value)
            if reason:
                errors.append(FieldError(name, reason, index))
        return errors

    def _check_value(self, feature: dict[str, Any], value: Any) -> str | None:
        if feature["kind"] == "categorical":
            if not isinstance(value, str):
                return f"must be a string, one of: {', '.join(feature['categories'])}"
            if value not in self._categories[feature["name"]]:
                return f"{value!r} is not one of: {', '.join(feature['categories'])}"
            return None
        # bool is an int in Python, but never a measurement.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, got {type(value).__name__}"
        # Only floats can be NaN, infinite or fractional; a JSON integer too large
        # for a float must not reach float() (OverflowError), only the range check.
        if isinstance(value, float):
            if not math.isfinite(value):
                return "must be a finite number (NaN and infinity are not accepted)"
            if feature.get("type") == "integer" and not value.is_integer():
                return f"must be an integer, got {value}"
        low, high = feature["minimum"], feature["maximum"]
        if not low <= value <= high:
            unit = f" {feature['unit']}" if feature.get("unit") else ""
            return f"{value} is outside the valid range [{low:g}, {high:g}]{unit}"
        return None

    def row_schema(self) -> dict[str, Any]:
        """JSON Schema of one row, for the OpenAPI document (what `check_row` enforces)."""
        properties: dict[str, Any] = {}
        for feature in self.features:
            if feature["kind"] == "categorical":
                prop: dict[str, Any] = {"type": "string", "enum": list(feature["categories"])}
            else:
                prop = {
                    "type": "integer" if feature.get("type") == "integer" else "number",
                    "minimum": feature["minimum"],
                    "maximum": feature["maximum"],
                }
            if feature.get("unit"):
                prop["description"] = feature["unit"]
            if feature.get("nullable"):
                prop = {"anyOf": [prop, {"type": "null"}]}
            properties[feature["name"]] = prop
        return {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
            "required": [f["name"] for f in self.features if not f.get("nullable")],
        }

    def label_name(self, label: Any) -> str:
        return self.class_names.get(str(label), str(label))
