"""The paired comparison of a challenger with production, against independently computed cases."""

import math

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import f1_score

from mlops_pipelines.comparison import (
    KEEP,
    PROMOTE,
    UNDECIDED,
    ComparisonPolicy,
    compare,
    macro_f1_along,
    recommend,
    sentence,
)

POLICY = ComparisonPolicy(margin=0.0, min_rows=50, max_rows=5000, resamples=1000)


def contingency(both: int, challenger_only: int, production_only: int, neither: int):
    """Labels and two versions' predictions with exactly these right/wrong counts (3 classes)."""
    y, p, c = [], [], []
    for count, p_right, c_right in (
        (both, True, True),
        (challenger_only, False, True),
        (production_only, True, False),
        (neither, False, False),
    ):
        for i in range(count):
            label = i % 3
            y.append(label)
            p.append(label if p_right else (label + 1) % 3)
            c.append(label if c_right else (label + 2) % 3)
    return np.array(y), np.array(p), np.array(c)


def exact_two_sided(b: int, n: int) -> float:
    """McNemar's exact p-value from the binomial distribution itself (symmetric at 1/2)."""
    tail = sum(math.comb(n, k) for k in range(max(b, n - b), n + 1)) / 2**n
    return min(1.0, 2 * tail)


def test_mcnemar_and_the_accuracy_interval_on_a_hand_made_table():
    y, p, c = contingency(both=50, challenger_only=30, production_only=12, neither=8)
    result = compare(y, p, c, POLICY)
    assert (result.rows, result.challenger_only_right, result.production_only_right) == (100, 30, 12)
    assert result.production_accuracy == 0.62 and result.challenger_accuracy == 0.80
    assert result.accuracy_diff == pytest.approx(0.18)
    assert result.mcnemar_p == pytest.approx(binomtest(30, 42, 0.5).pvalue) == pytest.approx(exact_two_sided(30, 42))
    ci = binomtest(30, 42).proportion_ci(0.95, method="exact")
    assert result.accuracy_ci_low == pytest.approx(0.42 * (2 * ci.low - 1))
    assert result.accuracy_ci_high == pytest.approx(0.42 * (2 * ci.high - 1))
    assert result.accuracy_ci_low < 0.18 < result.accuracy_ci_high and result.accuracy_ci_low > 0
    assert result.recommendation == PROMOTE


def test_the_vectorized_macro_f1_is_scikit_learn_s():
    rng = np.random.default_rng(3)
    y, predicted = rng.integers(0, 7, (20, 60)), rng.integers(0, 5, (20, 60))  # classes 5, 6 never predicted
    predicted[0] = 6
    expected = [f1_score(a, b, average="macro", zero_division=0) for a, b in zip(y, predicted, strict=True)]
    assert macro_f1_along(y, predicted, 7) == pytest.approx(expected)


def test_the_bootstrap_interval_covers_the_known_difference():
    """Balanced classes, errors spread evenly: each version's macro-F1 is its accuracy, 0.70 and 0.80."""
    rng = np.random.default_rng(11)
    n = 3000
    y = np.repeat(np.arange(3), n // 3)
    p = np.where(rng.random(n) < 0.70, y, (y + rng.integers(1, 3, n)) % 3)
    c = np.where(rng.random(n) < 0.80, y, (y + rng.integers(1, 3, n)) % 3)
    result = compare(y, p, c, POLICY)
    assert result.f1_macro_ci_low < 0.10 < result.f1_macro_ci_high
    assert result.f1_macro_ci_low > 0 and result.f1_macro_ci_high - result.f1_macro_ci_low < 0.08
    assert result.f1_macro_ci_low < result.f1_macro_diff < result.f1_macro_ci_high
    assert compare(y, p, c, POLICY) == result  # seeded


def test_a_challenger_identical_to_production_is_never_promoted():
    y, p, _ = contingency(both=3000, challenger_only=0, production_only=0, neither=2000)
    same = compare(y, p, p, POLICY)
    assert (same.accuracy_diff, same.accuracy_ci_low, same.accuracy_ci_high, same.mcnemar_p) == (0.0, 0.0, 0.0, 1.0)
    assert (same.f1_macro_ci_low, same.f1_macro_ci_high) == (0.0, 0.0)
    assert same.recommendation == KEEP  # 5,000 rows and not better
    assert compare(y[:400], p[:400], p[:400], POLICY).recommendation == UNDECIDED


def test_a_weaker_challenger_is_kept():
    y, p, c = contingency(both=300, challenger_only=10, production_only=40, neither=50)
    result = compare(y, p, c, POLICY)
    assert result.accuracy_ci_high < 0 and result.recommendation == KEEP


@pytest.mark.parametrize(
    "rows, low, high, expected",
    [
        (49, 0.05, 0.09, UNDECIDED),  # too few rows, however clear
        (50, 0.001, 0.02, PROMOTE),
        (50, -0.03, -0.001, KEEP),
        (1000, -0.01, 0.02, UNDECIDED),  # straddles
        (5000, -0.01, 0.02, KEEP),  # not better after max_rows
        (5000, 0.001, 0.02, PROMOTE),
    ],
)
def test_the_recommendation(rows, low, high, expected):
    assert recommend(rows, low, high, POLICY) == expected


def test_the_margin_must_be_cleared_by_the_whole_interval():
    policy = ComparisonPolicy(margin=0.01, min_rows=50)
    assert recommend(100, 0.009, 0.05, policy) == UNDECIDED
    assert recommend(100, 0.011, 0.05, policy) == PROMOTE


def test_the_sentence():
    y, p, c = contingency(both=2500, challenger_only=480, production_only=200, neither=34)
    result = compare(y, p, c, POLICY)
    text = sentence(result, "7", "5", POLICY)
    assert text == (
        "Challenger v7 vs production v5 on 3,214 rows neither trained on: "
        "accuracy +8.7 points (95 % CI +7.2 to +10.2), macro-F1 +8.7 (CI +7.2 to +10.3): promote."
    )
    few = compare(y[:12], p[:12], c[:12], POLICY)
    assert "on only 12 rows neither trained on (fewer than the 50 a decision needs)" in sentence(few, "3", "2", POLICY)


def test_a_policy_that_cannot_decide_is_refused():
    with pytest.raises(ValueError):
        ComparisonPolicy(min_rows=100, max_rows=50)
