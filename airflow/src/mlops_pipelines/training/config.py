"""Every setting of a training run, from the DAG's Params, validated in one place.

Airflow validates Params against their JSON schema in the trigger form; this
validates again so a run started any other way (REST API, CLI, tests, bench)
fails early with the same message instead of deep inside a fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.training.families import FAMILIES
from mlops_pipelines.training.grids import validate_grid
from mlops_pipelines.training.selection import check_metric

DEFAULTS: dict[str, Any] = {
    "test_size": 0.2,
    "random_state": 42,
    "selection_metric": "f1_macro",
    "auto_promote": False,
    "promotion_margin": 0.0,
}


def grid_param_name(family: str) -> str:
    return f"{family}_grid"


def default_grids() -> dict[str, dict[str, list[Any]]]:
    return {name: fam.default_grid for name, fam in FAMILIES.items()}


@dataclass(frozen=True)
class TrainingConfig:
    experiment_name: str
    model_name: str
    grids: dict[str, dict[str, list[Any]]] = field(default_factory=default_grids)
    test_size: float = DEFAULTS["test_size"]
    random_state: int = DEFAULTS["random_state"]
    selection_metric: str = DEFAULTS["selection_metric"]
    auto_promote: bool = DEFAULTS["auto_promote"]
    promotion_margin: float = DEFAULTS["promotion_margin"]

    def __post_init__(self) -> None:
        if not 0 < self.test_size < 1:
            raise ValueError(f"test_size must be between 0 and 1, got {self.test_size}")
        if self.promotion_margin < 0:
            raise ValueError(f"promotion_margin must be >= 0, got {self.promotion_margin}")
        check_metric(self.selection_metric)
        unknown = set(self.grids) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown model families {sorted(unknown)}; known: {sorted(FAMILIES)}")
        for name, grid in self.grids.items():
            object.__setattr__(self, "grids", {**self.grids, name: validate_grid(name, grid)})

    @classmethod
    def for_contract(cls, contract: DatasetContract, **overrides: Any) -> "TrainingConfig":
        """One MLflow experiment and one registered model per dataset."""
        overrides.setdefault("experiment_name", f"{contract.name}-training")
        overrides.setdefault("model_name", contract.registered_model_name)
        return cls(**overrides)

    @classmethod
    def from_params(cls, contract: DatasetContract, params: Mapping[str, Any]) -> "TrainingConfig":
        settings = {key: params.get(key, default) for key, default in DEFAULTS.items()}
        settings["grids"] = {name: params.get(grid_param_name(name), fam.default_grid) for name, fam in FAMILIES.items()}
        settings["test_size"] = float(settings["test_size"])
        settings["random_state"] = int(settings["random_state"])
        settings["promotion_margin"] = float(settings["promotion_margin"])
        if not isinstance(settings["auto_promote"], bool):
            # bool("false") is True: refuse anything but a real boolean.
            raise ValueError(f"auto_promote must be true or false, got {settings['auto_promote']!r}")
        return cls.for_contract(contract, **settings)
