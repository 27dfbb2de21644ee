"""The best-candidate choice and the promotion rule."""

import math

import pytest

from mlops_pipelines.mlflow_names import cv_mean
from mlops_pipelines.training.selection import choose_best


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
