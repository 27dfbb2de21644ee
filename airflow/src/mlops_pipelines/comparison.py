"""Champion against challenger on the same rows: the paired statistics and the recommendation.

Both versions' predictions of the same labelled rows, rows neither trained on
(training.data.unseen_by), accumulated over batches. Accuracy: McNemar's exact
test on the discordant pairs (scipy's binomial test), and a 95 % interval of
the difference from the exact (Clopper-Pearson) interval of the discordant
share, scaled by the discordant pairs: exact, and consistent with the test.
Macro-F1, which does not decompose by row: a seeded paired bootstrap (scipy).

The recommendation is read off the accuracy interval:
`promote` when its lower end is above the margin, `keep` when its upper end is
below zero or when `max_rows` rows did not show the challenger better,
`undecided` below `min_rows` rows or while the interval straddles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import binomtest, bootstrap
from sklearn.metrics import f1_score

PROMOTE, KEEP, UNDECIDED = "promote", "keep", "undecided"
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class ComparisonPolicy:
    margin: float = 0.0  # the accuracy gain (a fraction) the interval must clear to promote
    min_rows: int = 200
    max_rows: int = 5000
    resamples: int = 1000

    def __post_init__(self) -> None:
        if self.margin < 0 or self.min_rows < 1 or self.max_rows < self.min_rows or self.resamples < 100:
            raise ValueError(f"invalid comparison policy {self}")

    @classmethod
    def from_settings(cls, settings: Any) -> ComparisonPolicy:
        return cls(settings.challenger_margin, settings.challenger_min_rows, settings.challenger_max_rows, settings.challenger_resamples)


@dataclass(frozen=True)
class Comparison:
    rows: int
    production_accuracy: float
    challenger_accuracy: float
    accuracy_diff: float  # challenger - production
    accuracy_ci_low: float
    accuracy_ci_high: float
    challenger_only_right: int  # discordant pairs: McNemar's b ...
    production_only_right: int  # ... and c
    mcnemar_p: float
    production_f1_macro: float
    challenger_f1_macro: float
    f1_macro_diff: float
    f1_macro_ci_low: float
    f1_macro_ci_high: float
    recommendation: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(y, predicted, average="macro", zero_division=0))


def macro_f1_along(y: np.ndarray, predicted: np.ndarray, labels: int) -> np.ndarray:
    """scikit-learn's macro-F1 (zero_division=0) of each row of integer-coded arrays, along the last axis.

    A resample at a time through f1_score takes minutes for a thousand resamples; this is its
    definition vectorized (per-class F1 averaged over the classes present in either array).
    """
    total = np.zeros(y.shape[:-1])
    present = np.zeros(y.shape[:-1])
    for k in range(labels):
        truth, guess = y == k, predicted == k
        tp = (truth & guess).sum(axis=-1)
        denominator = truth.sum(axis=-1) + guess.sum(axis=-1)  # 2 TP + FP + FN
        total += np.divide(2 * tp, denominator, out=np.zeros(total.shape), where=denominator > 0)
        present += denominator > 0
    return total / np.maximum(present, 1)


def accuracy_interval(b: int, c: int, rows: int) -> tuple[float, float, float]:
    """McNemar's exact p-value and the 95 % interval of the accuracy difference, from the discordant pairs.

    b: rows only the challenger got right, c: only production. The difference
    is (b - c) / rows = (b + c) / rows * (2 pi - 1) with pi = b / (b + c), so the
    exact interval of pi gives the difference's, conditional on b + c.
    """
    discordant = b + c
    if discordant == 0:
        return 1.0, 0.0, 0.0
    test = binomtest(b, discordant, 0.5)
    ci = test.proportion_ci(CONFIDENCE, method="exact")
    scale = discordant / rows
    return float(test.pvalue), scale * (2 * ci.low - 1), scale * (2 * ci.high - 1)


def f1_interval(y: np.ndarray, production: np.ndarray, challenger: np.ndarray, resamples: int) -> tuple[float, float]:
    """Seeded paired percentile bootstrap of the macro-F1 difference (challenger - production)."""
    if len(y) < 2:
        return float("nan"), float("nan")
    if np.array_equal(production, challenger):
        return 0.0, 0.0
    labels, coded = np.unique(np.concatenate([y, production, challenger]), return_inverse=True)

    def diff(truth, first, second, axis=-1):  # axis: the resample's rows, always the last
        return macro_f1_along(truth, second, len(labels)) - macro_f1_along(truth, first, len(labels))

    result = bootstrap(
        tuple(np.split(coded, 3)),
        diff,
        paired=True,
        vectorized=True,
        batch=100,
        n_resamples=resamples,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def recommend(rows: int, ci_low: float, ci_high: float, policy: ComparisonPolicy) -> str:
    if rows < policy.min_rows:
        return UNDECIDED
    if ci_low > policy.margin:
        return PROMOTE
    if ci_high < 0 or rows >= policy.max_rows:
        return KEEP
    return UNDECIDED


def compare(actual: ArrayLike, production: ArrayLike, challenger: ArrayLike, policy: ComparisonPolicy) -> Comparison:
    """Both versions' predictions of the same rows against the rows' labels."""
    y, p, c = (np.asarray(a).astype(str) for a in (actual, production, challenger))
    if not len(y) == len(p) == len(c) or len(y) == 0:
        raise ValueError("compare needs the same, non-zero number of labels and predictions of each version")
    p_right, c_right = p == y, c == y
    b, c_only = int((c_right & ~p_right).sum()), int((p_right & ~c_right).sum())
    p_value, low, high = accuracy_interval(b, c_only, len(y))
    f1_p, f1_c = _macro_f1(y, p), _macro_f1(y, c)
    f1_low, f1_high = f1_interval(y, p, c, policy.resamples)
    return Comparison(
        rows=len(y),
        production_accuracy=float(p_right.mean()),
        challenger_accuracy=float(c_right.mean()),
        accuracy_diff=float(c_right.mean() - p_right.mean()),
        accuracy_ci_low=low,
        accuracy_ci_high=high,
        challenger_only_right=b,
        production_only_right=c_only,
        mcnemar_p=p_value,
        production_f1_macro=f1_p,
        challenger_f1_macro=f1_c,
        f1_macro_diff=f1_c - f1_p,
        f1_macro_ci_low=f1_low,
        f1_macro_ci_high=f1_high,
        recommendation=recommend(len(y), low, high, policy),
    )


def _points(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{100 * value:+.1f}"


def sentence(comparison: Comparison, challenger_version: str, production_version: str, policy: ComparisonPolicy) -> str:
    """The recommendation in one plain sentence (the challenger version's MLflow description)."""
    c = comparison
    rows = f"{c.rows:,} row{'s' if c.rows != 1 else ''} neither trained on"
    if c.rows < policy.min_rows:
        rows = f"only {rows} (fewer than the {policy.min_rows:,} a decision needs)"
    elif c.recommendation == KEEP and c.accuracy_ci_high >= 0:
        rows += f" (not better after the {policy.max_rows:,} rows allowed)"
    return (
        f"Challenger v{challenger_version} vs production v{production_version} on {rows}: "
        f"accuracy {_points(c.accuracy_diff)} points (95 % CI {_points(c.accuracy_ci_low)} to {_points(c.accuracy_ci_high)}), "
        f"macro-F1 {_points(c.f1_macro_diff)} (CI {_points(c.f1_macro_ci_low)} to {_points(c.f1_macro_ci_high)}): {c.recommendation}."
    )
