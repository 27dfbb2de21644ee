"""Grids: DAG Param values -> validated grid -> list of candidates to train.

A grid maps each hyper-parameter of a family to the list of values to try; the
candidates are their cartesian product, in a fixed order (the order of the
family's hyper-parameters, then of the values given). An empty grid, `{}`,
turns the family off: it has no candidates.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from mlops_pipelines.training.families import FAMILIES, Family

# A typo such as 10 values for each of 4 hyper-parameters would queue 10,000
# fits; refuse it instead of running for hours.
MAX_CANDIDATES = 64


class GridError(ValueError):
    """A grid that cannot be trained: unknown family or hyper-parameter, bad value, too large."""


@dataclass(frozen=True)
class Candidate:
    family: str
    index: int
    params: dict[str, Any]

    @property
    def key(self) -> str:
        """Stable name of the candidate within a DAG run, e.g. random_forest-03."""
        return f"{self.family}-{self.index:02d}"

    def as_dict(self) -> dict[str, Any]:
        """What a mapped task receives through XCom (JSON), with the key the Airflow grid shows."""
        return {"family": self.family, "index": self.index, "params": self.params, "key": self.key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        return cls(data["family"], int(data["index"]), dict(data["params"]))


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise GridError(f"unknown model family {name!r}; known: {sorted(FAMILIES)}") from None


def grid_schema(name: str) -> dict[str, Any]:
    """JSON schema of a family's grid: `{}` (family off), or every hyper-parameter with a
    non-empty list of distinct values."""
    fam = family(name)
    return {
        "type": "object",
        "properties": {
            h.name: {"type": "array", "minItems": 1, "uniqueItems": True, "items": h.schema, "description": h.description}
            for h in fam.hyperparameters
        },
        # if/then rather than anyOf: a half-written grid still gets "'x' is a required property".
        "if": {"minProperties": 1},
        "then": {"required": [h.name for h in fam.hyperparameters]},
        "additionalProperties": False,
    }


def _normalise(value: Any, schema: dict[str, Any]) -> Any:
    # JSON has one number type: 100.0 is a valid "integer", but scikit-learn wants an int.
    types = schema.get("type", [])
    if "integer" in (types if isinstance(types, list) else [types]) and isinstance(value, float):
        return int(value)
    return value


def validate_grid(name: str, grid: Any) -> dict[str, list[Any]]:
    """The grid with values normalised, or GridError saying what is wrong with it."""
    schema = grid_schema(name)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(grid), key=lambda e: list(e.absolute_path))
    if errors:
        where = lambda e: "/".join(str(p) for p in e.absolute_path) or "grid"  # noqa: E731
        raise GridError(f"{name} grid: " + "; ".join(f"{where(e)}: {e.message}" for e in errors))
    if not grid:
        return {}
    fam = family(name)
    normalised = {h.name: [_normalise(v, h.schema) for v in grid[h.name]] for h in fam.hyperparameters}
    size = count(normalised)
    if size > MAX_CANDIDATES:
        raise GridError(f"{name} grid: {size} candidates, more than the limit of {MAX_CANDIDATES}")
    return normalised


def count(grid: Mapping[str, list[Any]]) -> int:
    if not grid:
        return 0
    size = 1
    for values in grid.values():
        size *= len(values)
    return size


def expand_grid(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of the grid's values, first hyper-parameter varying slowest."""
    if not grid:
        return []
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def candidates(name: str, grid: Any) -> list[Candidate]:
    return [Candidate(name, i, params) for i, params in enumerate(expand_grid(validate_grid(name, grid)))]
