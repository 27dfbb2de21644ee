"""The compiled path gives the pipeline's own probabilities, or is not used."""

import numpy as np
import pytest
from compiled_models import fitted_option
from models import fitted, synthetic
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures
from specs import COVER_ROW, COVERTYPE_SPEC, PENGUIN_ROW, PENGUINS_SPEC

from inference.fast_path import CompiledPipeline, Unsupported, compile_pipeline, frame

NAMES = {
    id(PENGUINS_SPEC): [f["name"] for f in PENGUINS_SPEC["features"]],
    id(COVERTYPE_SPEC): [f["name"] for f in COVERTYPE_SPEC["features"]],
}


def rows_of(spec, n=200, seed=7):
    X, _ = synthetic(spec, n, seed)
    rows = X.astype(object).to_dict("records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows]


@pytest.mark.parametrize(
    "spec, engineered",
    [(PENGUINS_SPEC, False), (PENGUINS_SPEC, True), (COVERTYPE_SPEC, False)],
    ids=["penguins", "penguins-engineered", "covertype"],
)
@pytest.mark.parametrize("kind", ["lr", "rf", "svm"])
def test_same_probabilities_as_the_pipeline(spec, engineered, kind):
    model = fitted_option(spec, kind, engineered)
    names = NAMES[id(spec)]
    rows = rows_of(spec)
    # Categories absent from training (one-hot ignores them) and missing values.
    last = {f["name"]: f["categories"][-1] for f in spec["features"] if f["kind"] == "categorical"}
    rows += [{**rows[0], **last}]
    if spec is PENGUINS_SPEC:
        rows += [{**PENGUIN_ROW, "sex": None}]
    compiled = compile_pipeline(model, names, rows[:5])
    assert compiled is not None
    if engineered:  # the ratios are compiled blocks, not a fallback
        assert [names for _, names, _, _ in compiled.blocks][-3:] == [
            ["bill_depth_mm", "bill_length_mm"],
            ["body_mass_g"],
            ["flipper_length_mm", "body_mass_g"],
        ]
    expected = model.predict_proba(frame(rows, names))
    got = compiled.predict_proba(rows)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # Single rows too, as requests send them: as arrays, and through the plain-Python steps.
    for row in rows[:20] + rows[-2:]:
        alone = model.predict_proba(frame([row], names))
        np.testing.assert_allclose(compiled.predict_proba([row]), alone, rtol=0, atol=1e-12)
        np.testing.assert_allclose(compiled.probabilities([row]), alone, rtol=0, atol=1e-12)
    assert compiled.probabilities(rows[:3]) == got[:3].tolist()


def test_the_engineered_ratios_are_the_raw_fields_divided():
    model = fitted_option(PENGUINS_SPEC, "lr", engineered=True)
    compiled = CompiledPipeline(model, NAMES[id(PENGUINS_SPEC)])
    ratios = {}
    for _output, names, ops, _ in compiled.blocks[-3:]:
        block = np.array([[PENGUIN_ROW[n] for n in names]], dtype=float)
        for op in ops[:-1]:  # all but the scaler
            block = op(block)
        ratios[tuple(names)] = block[0, 0]
    assert ratios[("bill_depth_mm", "bill_length_mm")] == pytest.approx(45.2 / 15.8, rel=1e-12)
    assert ratios[("body_mass_g",)] == pytest.approx(5.3, rel=1e-12)
    assert ratios[("flipper_length_mm", "body_mass_g")] == pytest.approx(5300 / 215, rel=1e-12)


def test_a_function_transformer_of_non_numpy_code_is_not_compiled():
    from sklearn.preprocessing import FunctionTransformer

    model = fitted(PENGUINS_SPEC, "lr")
    transform = model.named_steps["preprocess"]
    odd = transform.transformers_[0][1]
    odd.steps.insert(1, ("double", FunctionTransformer(lambda x: x * 2).fit(None)))
    with pytest.raises(Unsupported, match="FunctionTransformer of"):
        CompiledPipeline(model, NAMES[id(PENGUINS_SPEC)])


def test_unknown_structure_falls_back_to_the_pipeline():
    model = fitted(COVERTYPE_SPEC, "lr")
    odd = Pipeline([("poly", PolynomialFeatures()), ("classifier", model.steps[-1][1])])
    with pytest.raises(Unsupported):
        CompiledPipeline(odd, NAMES[id(COVERTYPE_SPEC)])
    assert compile_pipeline(odd, NAMES[id(COVERTYPE_SPEC)], [COVER_ROW]) is None


def test_a_compiled_path_that_disagrees_is_not_used(monkeypatch):
    model = fitted(PENGUINS_SPEC, "lr")
    monkeypatch.setattr(CompiledPipeline, "transform", lambda self, rows: np.zeros((len(rows), self.n_out)))
    assert compile_pipeline(model, NAMES[id(PENGUINS_SPEC)], [PENGUIN_ROW]) is None


@pytest.mark.parametrize("kind", ["lr", "rf"])
def test_a_missing_value_is_imputed_alike_alone_and_in_a_batch(kind):
    """The pipeline (the fallback path) must see a null as missing in a one-row frame too."""
    model = fitted(PENGUINS_SPEC, kind)
    names = NAMES[id(PENGUINS_SPEC)]
    no_sex = {**PENGUIN_ROW, "sex": None}
    alone = model.predict_proba(frame([no_sex], names))[0]
    in_batch = model.predict_proba(frame([no_sex, PENGUIN_ROW], names))[0]
    np.testing.assert_allclose(alone, in_batch, rtol=0, atol=1e-12)
    compiled = compile_pipeline(model, names, [PENGUIN_ROW, no_sex])
    np.testing.assert_allclose(compiled.predict_proba([no_sex])[0], alone, rtol=0, atol=1e-12)


@pytest.mark.parametrize("ensemble, classes", [(False, 2), (True, 3)], ids=["binary", "ensemble"])
def test_the_calibrated_svm_shortcut_matches_scikit_learn(ensemble, classes):
    """_calibrated_svm_proba against CalibratedClassifierCV.predict_proba beyond the DAG's setting."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    from inference.fast_path import _calibrated_svm_proba

    rng = np.random.default_rng(3)
    X = rng.normal(size=(240, 4))
    y = (X[:, 0] > 0).astype(int) + ((X[:, 1] > 0.5).astype(int) if classes == 3 else 0)
    model = CalibratedClassifierCV(SVC(random_state=0), method="sigmoid", ensemble=ensemble, cv=3).fit(X, y)
    np.testing.assert_allclose(_calibrated_svm_proba(model, X), model.predict_proba(X), rtol=0, atol=1e-12)


def test_a_forest_row_on_the_thresholds_goes_where_the_trees_send_it():
    """One row walked in Python equals the trees' own `predict` at and next to every threshold.

    The trees compare float32 values: a float64 value equal to a threshold (a midpoint between
    two float32 values) rounds to one side of it, and the walk must round it the same way.
    """
    from sklearn.ensemble import RandomForestClassifier

    from inference.fast_path import _forest_proba, _ForestRow

    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 4)) * [1.0, 1e3, 1e-3, 7.0]
    y = (X[:, 0] + X[:, 1] / 1e3 > 0).astype(int) + (X[:, 3] > 3).astype(int)
    forest = RandomForestClassifier(n_estimators=5, max_depth=6, random_state=0).fit(X, y)
    row = _ForestRow(forest)
    base = X[0].tolist()
    candidates = []
    for estimator in forest.estimators_:
        tree = estimator.tree_
        for feature, threshold in zip(tree.feature, tree.threshold):
            if feature < 0:
                continue
            single = np.float32(threshold)
            for value in (
                threshold,
                np.nextafter(threshold, -np.inf),
                np.nextafter(threshold, np.inf),
                single,
                np.nextafter(single, np.float32(-np.inf)),
                np.nextafter(single, np.float32(np.inf)),
            ):
                x = list(base)
                x[feature] = float(value)
                candidates.append(x)
    batch = _forest_proba(forest, np.array(candidates))
    assert [row(x) for x in candidates] == batch.tolist()
