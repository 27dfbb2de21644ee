"""Snapshot typing and split, scores, the confusion-matrix figure, and fitting a grid."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from training_helpers import covertype_frame

from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.scoring import aligned_proba, score, typed
from mlops_pipelines.training import families
from mlops_pipelines.training.candidates import cross_validate_candidate, refit_and_test
from mlops_pipelines.training.data import SplitError, snapshot_from_frame, split
from mlops_pipelines.training.evaluation import confusion_matrix_figure
from mlops_pipelines.training.grids import candidates
from mlops_pipelines.training.pipelines import build_pipeline


def test_frames_are_typed_per_contract(penguins_clean):
    penguins = typed(penguins_clean, PENGUINS)
    assert list(penguins.columns) == [*PENGUINS.feature_names, "species"]
    assert penguins["bill_length_mm"].dtype == "float64"
    assert pd.api.types.is_string_dtype(penguins["island"]) and pd.api.types.is_string_dtype(penguins["species"])
    assert penguins["sex"].isna().sum() == penguins_clean["sex"].isna().sum() > 0
    cover = typed(covertype_frame(5).astype(object), COVERTYPE)
    assert cover["Elevation"].dtype == "int64" and cover["Cover_Type"].dtype == "int64"


def test_split_is_seeded_complete_and_near_the_fraction(penguins_snapshot):
    parts = split(penguins_snapshot, 0.2, 42)
    assert set(parts.X_train.index).isdisjoint(parts.X_test.index)
    assert len(parts.X_train) + len(parts.X_test) == penguins_snapshot.rows
    # Binomial(342, 0.2): mean 68.4, sd 7.4.
    assert abs(len(parts.X_test) - 0.2 * penguins_snapshot.rows) < 4 * 7.4
    assert set(parts.y_test) == set(PENGUINS.classes)
    again = split(penguins_snapshot, 0.2, 42)
    assert list(again.X_test.index) == list(parts.X_test.index)
    assert list(split(penguins_snapshot, 0.2, 7).X_test.index) != list(parts.X_test.index)


def test_a_split_that_cannot_be_made_says_why(penguins_snapshot):
    with pytest.raises(SplitError, match="cannot split 342 rows of penguins_clean with test_size=0.999"):
        split(penguins_snapshot, 0.999, 42)
    tiny = snapshot_from_frame(PENGUINS, penguins_snapshot.frame.groupby("species").head(3))
    with pytest.raises(SplitError, match="fewer than the 3 classes in one part"):
        split(tiny, 0.1, 42)


def test_digest_covers_every_row(penguins_clean):
    a = snapshot_from_frame(PENGUINS, penguins_clean)
    assert a.digest == snapshot_from_frame(PENGUINS, penguins_clean.copy()).digest
    changed = penguins_clean.copy()
    changed.loc[changed.index[-1], "body_mass_g"] = 4000.5
    assert snapshot_from_frame(PENGUINS, changed).digest != a.digest
    assert snapshot_from_frame(PENGUINS, penguins_clean.iloc[:-1]).digest != a.digest


def test_snapshot_source_names_table_and_snapshot(penguins_snapshot):
    source = json.loads(penguins_snapshot.source.to_json())
    assert source == {"uri": "mysql://mysql:3306/mlops_data/penguins_clean", "table": "penguins_clean", "max_id": 342}


def test_scores_and_probabilities_cover_every_contract_class():
    frame = typed(covertype_frame(300), COVERTYPE)
    train = frame[frame["Cover_Type"] != 3]  # class 3 never seen in training
    model = build_pipeline(COVERTYPE, LogisticRegression(max_iter=300)).fit(train[COVERTYPE.feature_names], train["Cover_Type"])
    X, y = frame[COVERTYPE.feature_names], frame["Cover_Type"]
    proba = aligned_proba(model, X, COVERTYPE.classes)
    assert proba.shape == (300, 7) and (proba[:, 2] == 0).all()
    assert np.allclose(proba.sum(axis=1), 1)
    scores = score(model, X, y, COVERTYPE.classes)
    assert set(scores) == {"accuracy", "f1_macro", "log_loss"}
    # The model's own predictions, scored here independently of score().
    predicted = model.predict(X)
    assert scores["accuracy"] == pytest.approx(float(np.mean(predicted == y.to_numpy())))
    assert scores["f1_macro"] == pytest.approx(f1_score(y, predicted, average="macro", zero_division=0))
    assert np.isfinite(scores["log_loss"]) and scores["log_loss"] > 0


def test_confusion_matrix_figure_shows_every_class_by_name():
    y_true = ["Adelie", "Gentoo", "Gentoo", "Chinstrap"]
    y_pred = ["Adelie", "Gentoo", "Adelie", "Chinstrap"]
    fig = confusion_matrix_figure(y_true, y_pred, PENGUINS.classes, PENGUINS.class_names, "test")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Adélie penguin", "Chinstrap penguin", "Gentoo penguin"]
    assert sorted(int(t.get_text()) for t in ax.texts) == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"


def _failing_forest(monkeypatch, bad_depth):
    """The forest family, made to fail for one max_depth (a candidate-specific failure)."""
    original = families.FAMILIES["random_forest"]

    def make(params, random_state):
        if params["max_depth"] == bad_depth:
            raise MemoryError(f"simulated: max_depth={bad_depth} does not fit")
        return original.make(params, random_state)

    monkeypatch.setitem(families.FAMILIES, "random_forest", dataclasses.replace(original, make=make))


def test_a_failing_candidate_is_an_outcome_not_an_exception(monkeypatch, penguins_snapshot):
    _failing_forest(monkeypatch, bad_depth=3)
    grid = {"n_estimators": [5], "max_depth": [2, 3, 4], "min_samples_leaf": [1]}
    parts = split(penguins_snapshot, 0.2, 0)
    outcomes = [cross_validate_candidate(PENGUINS, c, parts.X_train, parts.y_train, 3, 0) for c in candidates("random_forest", grid)]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, MemoryError) and not outcomes[1].metrics
    assert outcomes[2].metrics["cv_accuracy_mean"] > 0.8 and outcomes[2].metrics["cv_fit_time_s_mean"] > 0


def test_a_fold_that_fails_fails_the_candidate(penguins_snapshot, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    class FailsOnSmallFolds(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            if len(X) < 200:
                raise ValueError("simulated: too few rows")
            return super().fit(X, y)

    original = families.FAMILIES["logistic_regression"]
    monkeypatch.setitem(
        families.FAMILIES, "logistic_regression", dataclasses.replace(original, make=lambda params, rs: FailsOnSmallFolds(**params))
    )
    parts = split(penguins_snapshot, 0.2, 42)
    (candidate,) = candidates("logistic_regression", {"C": [1.0], "class_weight": [None]})
    # 270 training rows: 5 folds train on 216 rows each, 2 folds on 135.
    assert cross_validate_candidate(PENGUINS, candidate, parts.X_train, parts.y_train, 5, 42).ok
    failed = cross_validate_candidate(PENGUINS, candidate, parts.X_train, parts.y_train, 2, 42)
    assert not failed.ok and "simulated: too few rows" in str(failed.error)


def test_cv_scores_every_metric_across_the_folds_of_the_training_split_only(penguins_snapshot):
    parts = split(penguins_snapshot, 0.2, 42)
    lr = candidates("logistic_regression", {"C": [0.1, 1.0], "class_weight": [None]})
    outcomes = [cross_validate_candidate(PENGUINS, c, parts.X_train, parts.y_train, 5, 42) for c in lr]
    metrics = outcomes[1].metrics
    assert set(metrics) == {f"cv_{m}_{s}" for m in ("accuracy", "f1_macro", "log_loss") for s in ("mean", "std")} | {
        "cv_fit_time_s_mean",
        "cv_time_s",
    }
    assert metrics["cv_accuracy_mean"] >= 0.97 and 0 <= metrics["cv_accuracy_std"] < 0.05
    # Seeded folds: the same candidate scores the same twice.
    assert (
        cross_validate_candidate(PENGUINS, lr[1], parts.X_train, parts.y_train, 5, 42).metrics["cv_f1_macro_mean"]
        == metrics["cv_f1_macro_mean"]
    )
    # The refit scores the test split once, under test_ names.
    refit = refit_and_test(PENGUINS, lr[1], parts, 42)
    assert {"test_accuracy", "test_f1_macro", "test_log_loss", "refit_time_s"} == set(refit.metrics)
    assert len(refit.predictions) == len(parts.X_test) and refit.metrics["test_accuracy"] >= 0.97


def test_a_class_missing_from_a_fold_still_has_a_log_loss():
    """Covertype samples hold rare classes with fewer rows than folds; probabilities are aligned to the contract."""
    frame = covertype_frame(300)
    rare = frame.index[frame["Cover_Type"] == 4]
    frame.loc[rare[4:], "Cover_Type"] = 3  # 4 rows of class 4 left: 3 in training, fewer than the 5 folds
    parts = split(snapshot_from_frame(COVERTYPE, frame), 0.2, 42)
    assert parts.y_train.value_counts().min() < 5
    (candidate,) = candidates("logistic_regression", {"C": [1.0], "class_weight": [None]})
    outcome = cross_validate_candidate(COVERTYPE, candidate, parts.X_train, parts.y_train, 5, 42)
    assert outcome.ok and np.isfinite(outcome.metrics["cv_log_loss_mean"])
