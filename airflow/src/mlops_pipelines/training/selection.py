"""Pure decision rules: which candidate is best (a new version against production: comparison.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mlops_pipelines.mlflow_names import cv_mean

# Every metric scored (per CV fold, and once on the test split for the winner),
# and whether larger is better.
HIGHER_IS_BETTER = {"accuracy": True, "f1_macro": True, "log_loss": False}


def check_metric(metric: str) -> str:
    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"unknown selection metric {metric!r}; choose one of {sorted(HIGHER_IS_BETTER)}")
    return metric


def improvement(new: float, old: float, metric: str) -> float:
    """How much better `new` is than `old` (negative: worse), whatever the metric's direction."""
    return new - old if HIGHER_IS_BETTER[check_metric(metric)] else old - new


# Among candidates equal on the selection metric, the better-calibrated one wins:
# on small data many candidates reach the same accuracy or F1.
TIE_BREAK_METRIC = "log_loss"


def _usable(value: Any) -> bool:
    return value is not None and not math.isnan(value)


def choose_best(results: Sequence[Mapping[str, Any]], metric: str) -> Mapping[str, Any] | None:
    """The successful candidate with the best cross-validated `metric` (its mean across
    folds, `cv_<metric>_mean`); None when no candidate succeeded.

    Test-split scores are never looked at: choosing on the data a score is then
    reported on would make that score optimistic. Ties go to the better mean
    CV log loss, then to the earlier candidate: `results` come in training
    order (family order, then grid order), so equal scores keep the simpler
    model and the choice never depends on timing.
    """
    check_metric(metric)
    key, tie_key = cv_mean(metric), cv_mean(TIE_BREAK_METRIC)
    best = None
    for result in results:
        metrics = result.get("metrics", {})
        if result.get("status") != "FINISHED" or not _usable(metrics.get(key)):
            continue
        if best is None:
            best = result
            continue
        gain = improvement(metrics[key], best["metrics"][key], metric)
        if gain == 0 and _usable(metrics.get(tie_key)) and _usable(best["metrics"].get(tie_key)):
            gain = improvement(metrics[tie_key], best["metrics"][tie_key], TIE_BREAK_METRIC)
        if gain > 0:
            best = result
    return best


@dataclass(frozen=True)
class PromotionDecision:
    """Whether a newly registered version takes @production at once (only the first one does)."""

    promote: bool
    reason: str
    metric: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
