"""A model's feature spec as inference serves it, in typed form.

The spec travels with the model (MLflow -> inference -> here); nothing about a
dataset is written down in the UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The feature-spec format versions this UI reads (contract/feature-spec.schema.json);
# specs logged before versions existed carry none and are version 1.
KNOWN_SPEC_VERSIONS = (1,)


class UnknownSpecVersion(ValueError):
    """A model logged with a feature-spec format this UI does not know."""


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # "numeric" or "categorical"
    type: str  # "integer", "number" or "string"
    description: str = ""
    unit: str = ""
    categories: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Feature:
        return cls(
            name=str(raw["name"]),
            kind=str(raw.get("kind") or ("categorical" if "categories" in raw else "numeric")),
            type=str(raw.get("type") or "number"),
            description=str(raw.get("description") or ""),
            unit=str(raw.get("unit") or ""),
            categories=tuple(str(c) for c in raw.get("categories") or ()),
            minimum=raw.get("minimum"),
            maximum=raw.get("maximum"),
            nullable=bool(raw.get("nullable", False)),
        )

    @property
    def is_categorical(self) -> bool:
        return self.kind == "categorical"

    @property
    def is_integer(self) -> bool:
        return self.kind == "numeric" and self.type == "integer"

    @property
    def label(self) -> str:
        """The field in readable words, with its unit: "Bill (culmen) length (mm)"."""
        words = self.description or self.name.replace("_", " ").strip().capitalize()
        return f"{words} ({self.unit})" if self.unit else words

    @property
    def help(self) -> str:
        """What a person may enter, in one sentence (shown as the field's tooltip)."""
        if self.is_categorical:
            allowed = f"one of: {', '.join(self.categories)}"
        else:
            kind = "a whole number" if self.is_integer else "a number"
            low, high = _fmt(self.minimum), _fmt(self.maximum)
            unit = f" {self.unit}" if self.unit else ""
            allowed = f"{kind} from {low} to {high}{unit}"
        unknown = "; may be left unknown" if self.nullable else ""
        return f"Column `{self.name}`: {allowed}{unknown}."


@dataclass(frozen=True)
class FeatureSpec:
    dataset: str
    description: str
    features: tuple[Feature, ...]
    target: str
    classes: tuple[Any, ...]
    class_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FeatureSpec:
        version = raw.get("spec_version", 1)
        if version not in KNOWN_SPEC_VERSIONS:
            # A form built from a format this UI does not know could send wrong rows.
            raise UnknownSpecVersion(
                f"the model's feature spec has spec_version {version!r}; this UI reads versions "
                f"{', '.join(map(str, KNOWN_SPEC_VERSIONS))}: upgrade the UI to use this model"
            )
        target = raw.get("target") or {}
        return cls(
            dataset=str(raw.get("dataset") or ""),
            description=str(raw.get("description") or ""),
            features=tuple(Feature.from_json(f) for f in raw["features"]),
            target=str(target.get("name") or "class"),
            classes=tuple(target.get("classes") or ()),
            class_names={str(k): str(v) for k, v in (target.get("class_names") or {}).items()},
        )

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> Feature | None:
        return next((f for f in self.features if f.name == name), None)

    def class_name(self, label: Any) -> str:
        """A class label in words (labels are looked up as strings: JSON keys)."""
        return self.class_names.get(str(label), str(label))


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"
