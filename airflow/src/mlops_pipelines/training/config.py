"""Every setting of a training run, from the DAG's Params, validated in one place.

Airflow validates Params against their JSON schema in the trigger form; this
validates again so a run started any other way (REST API, CLI, tests, bench)
fails early with the same message instead of deep inside a fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.mlflow_names import training_experiment
from mlops_pipelines.training.families import FAMILIES
from mlops_pipelines.training.features import has_engineered_features
from mlops_pipelines.training.grids import Candidate, candidates, validate_grid
from mlops_pipelines.training.selection import check_metric

DEFAULTS: dict[str, Any] = {
    "test_size": 0.2,
    "random_state": 42,
    "cv_folds": 5,
    "selection_metric": "f1_macro",
    "auto_promote": False,
}

# Families a dataset trains only when asked (an empty default grid). SVC's fit
# grows with the square of the rows and probability=True fits it 5 more times:
# on Covertype's training split one candidate would take longer than the whole
# DAG may (bench/README.md has the measurement).
OFF_BY_DEFAULT: dict[str, frozenset[str]] = {"covertype": frozenset({"svm"})}

# Off by default: on penguins they change no CV score measurably (bench/README.md);
# the Param turns them on per run, and every candidate run logs the setting.
ENGINEERED_FEATURES_DEFAULT = False

MAX_CV_FOLDS = 20


def grid_param_name(family: str) -> str:
    return f"{family}_grid"


def default_grids(contract: DatasetContract | None = None) -> dict[str, dict[str, list[Any]]]:
    """Each family's default grid for a dataset; `{}` for a family that is off there."""
    off = OFF_BY_DEFAULT.get(contract.name, frozenset()) if contract else frozenset()
    return {name: {} if name in off else fam.default_grid for name, fam in FAMILIES.items()}


@dataclass(frozen=True)
class TrainingConfig:
    experiment_name: str
    model_name: str
    grids: dict[str, dict[str, list[Any]]] = field(default_factory=default_grids)
    test_size: float = DEFAULTS["test_size"]
    random_state: int = DEFAULTS["random_state"]
    cv_folds: int = DEFAULTS["cv_folds"]
    selection_metric: str = DEFAULTS["selection_metric"]
    auto_promote: bool = DEFAULTS["auto_promote"]
    engineered_features: bool = ENGINEERED_FEATURES_DEFAULT

    def __post_init__(self) -> None:
        if not 0 < self.test_size < 1:
            raise ValueError(f"test_size must be between 0 and 1, got {self.test_size}")
        if not 2 <= self.cv_folds <= MAX_CV_FOLDS:
            raise ValueError(
                f"cv_folds must be between 2 and {MAX_CV_FOLDS}, got {self.cv_folds}: "
                "cross-validation needs at least 2 folds (each scores on rows the others trained on)"
            )
        check_metric(self.selection_metric)
        unknown = set(self.grids) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown model families {sorted(unknown)}; known: {sorted(FAMILIES)}")
        for name, grid in self.grids.items():
            object.__setattr__(self, "grids", {**self.grids, name: validate_grid(name, grid)})
        if not self.candidates():
            raise ValueError("every family's grid is empty: nothing to train")

    def candidates(self) -> list[Candidate]:
        """Every candidate of the run, in training order (family order, then grid order)."""
        return [c for name in FAMILIES if name in self.grids for c in candidates(name, self.grids[name])]

    @classmethod
    def for_contract(cls, contract: DatasetContract, **overrides: Any) -> TrainingConfig:
        """One MLflow experiment and one registered model per dataset."""
        overrides.setdefault("experiment_name", training_experiment(contract.name))
        overrides.setdefault("model_name", contract.registered_model_name)
        overrides.setdefault("grids", default_grids(contract))
        if overrides.get("engineered_features") and not has_engineered_features(contract):
            raise ValueError(f"engineered_features: {contract.name} has no engineered features")
        return cls(**overrides)

    @classmethod
    def from_params(cls, contract: DatasetContract, params: Mapping[str, Any]) -> TrainingConfig:
        settings = {key: params.get(key, default) for key, default in DEFAULTS.items()}
        defaults = default_grids(contract)
        settings["grids"] = {name: params.get(grid_param_name(name), defaults[name]) for name in FAMILIES}
        settings["test_size"] = float(settings["test_size"])
        settings["random_state"] = int(settings["random_state"])
        settings["cv_folds"] = int(settings["cv_folds"])
        settings["engineered_features"] = params.get("engineered_features", ENGINEERED_FEATURES_DEFAULT)
        for key in ("auto_promote", "engineered_features"):
            if not isinstance(settings[key], bool):
                # bool("false") is True: refuse anything but a real boolean.
                raise ValueError(f"{key} must be true or false, got {settings[key]!r}")
        return cls.for_contract(contract, **settings)
