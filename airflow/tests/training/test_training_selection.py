"""The best-candidate choice and the promotion rule."""

import math

import pytest

from mlops_pipelines.training.selection import auto_promotion, beats, choose_best, cv_mean


def result(name, status="FINISHED", **metrics):
    """A candidate's result whose CV means are the given metrics."""
    return {"candidate": name, "status": status, "metrics": {cv_mean(k): v for k, v in metrics.items()}}


def test_the_cv_mean_chooses_never_the_test_score():
    """a scores better on the test split, b across the folds: b is chosen."""
    a = {
        "candidate": "a",
        "status": "FINISHED",
        "metrics": {"cv_f1_macro_mean": 0.80, "cv_log_loss_mean": 0.4, "test_f1_macro": 0.99, "f1_macro": 0.99},
    }
    b = {
        "candidate": "b",
        "status": "FINISHED",
        "metrics": {"cv_f1_macro_mean": 0.90, "cv_log_loss_mean": 0.3, "test_f1_macro": 0.70, "f1_macro": 0.70},
    }
    assert choose_best([a, b], "f1_macro")["candidate"] == "b"
    assert choose_best([b, a], "f1_macro")["candidate"] == "b"
    # A candidate with only test scores (no CV) is not a candidate at all.
    assert choose_best([{"candidate": "c", "status": "FINISHED", "metrics": {"f1_macro": 1.0}}], "f1_macro") is None


def test_best_by_the_selection_metric_whatever_its_direction():
    results = [result("a", f1_macro=0.8, accuracy=0.95, log_loss=0.3), result("b", f1_macro=0.9, accuracy=0.90, log_loss=0.5)]
    assert choose_best(results, "f1_macro")["candidate"] == "b"
    assert choose_best(results, "accuracy")["candidate"] == "a"
    assert choose_best(results, "log_loss")["candidate"] == "a"  # lower is better


def test_failed_and_unscored_candidates_are_never_chosen():
    results = [
        result("failed", status="FAILED", f1_macro=1.0),
        result("nan", f1_macro=math.nan),
        result("missing"),
        result("ok", f1_macro=0.5),
    ]
    assert choose_best(results, "f1_macro")["candidate"] == "ok"
    assert choose_best(results[:3], "f1_macro") is None
    assert choose_best([], "f1_macro") is None


def test_a_tie_goes_to_the_better_cv_log_loss():
    results = [result("lr", f1_macro=1.0, log_loss=0.10), result("rf", f1_macro=1.0, log_loss=0.04)]
    assert choose_best(results, "f1_macro")["candidate"] == "rf"


def test_a_full_tie_goes_to_the_earlier_candidate():
    results = [
        result("lr-00", f1_macro=1.0, log_loss=0.1),
        result("lr-01", f1_macro=1.0, log_loss=0.1),
        result("rf-00", f1_macro=1.0, log_loss=0.1),
    ]
    assert choose_best(results, "f1_macro")["candidate"] == "lr-00"
    assert choose_best(list(reversed(results)), "f1_macro")["candidate"] == "rf-00"
    # Without a log loss to compare, the earlier one too.
    assert choose_best([result("x", accuracy=0.9), result("y", accuracy=0.9)], "accuracy")["candidate"] == "x"


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="unknown selection metric 'auc'"):
        choose_best([result("a", f1_macro=1.0)], "auc")


@pytest.mark.parametrize(
    "new, production, margin, promote",
    [
        (0.96, 0.95, 0.0, True),  # better, no margin asked
        (0.95, 0.95, 0.0, False),  # equal is not better
        (0.94, 0.95, 0.0, False),  # worse
        (0.97, 0.95, 0.02, False),  # exactly the margin (0.97 - 0.95 is 0.020000000000000018 in floats)
        (0.96, 0.95, 0.01, False),  # exactly the margin (0.009999999999999898 in floats)
        (0.9701, 0.95, 0.02, True),  # just over the margin
        (0.96, 0.95, 0.02, False),  # better, but by less than the margin
        (1.0, 0.0, 0.5, True),
    ],
)
def test_promotion_needs_more_than_the_margin(new, production, margin, promote):
    assert beats(new, production, "f1_macro", margin) is promote


def test_promotion_on_a_lower_is_better_metric():
    assert beats(0.20, 0.30, "log_loss", 0.05) is True
    assert beats(0.25, 0.30, "log_loss", 0.05) is False  # exactly the margin
    assert beats(0.30, 0.20, "log_loss", 0.0) is False


def test_negative_margin_is_refused():
    with pytest.raises(ValueError, match="margin must be >= 0"):
        beats(0.9, 0.8, "f1_macro", -0.1)


def test_decision_keeps_both_scores_and_says_why():
    decision = auto_promotion(0.90, 0.93, "accuracy", 0.0)
    assert decision.promote is False
    assert (decision.new_score, decision.production_score, decision.margin) == (0.90, 0.93, 0.0)
    assert "new accuracy 0.900000 does not beat production 0.930000" in decision.reason
    assert decision.as_dict()["production_score"] == 0.93
    assert auto_promotion(0.95, 0.93, "accuracy", 0.01).promote is True
