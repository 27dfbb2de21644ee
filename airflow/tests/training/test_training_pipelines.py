"""The pipeline builder: contract columns, documented categories, unknown and missing values."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from training_helpers import covertype_frame

from mlops_pipelines.contracts import COVERTYPE, PENGUINS, SOIL_CODES
from mlops_pipelines.scoring import typed
from mlops_pipelines.training.data import split
from mlops_pipelines.training.pipelines import build_pipeline, build_preprocessor, for_single_rows


@pytest.fixture(scope="module")
def covertype_model():
    frame = typed(covertype_frame(), COVERTYPE)
    assert "C5151" not in set(frame["Soil_Type"])
    model = build_pipeline(COVERTYPE, LogisticRegression(max_iter=500))
    return model.fit(frame[COVERTYPE.feature_names], frame["Cover_Type"])


def _encoded(model, rows: pd.DataFrame) -> pd.Series:
    preprocess = model.named_steps["preprocess"]
    return pd.Series(preprocess.transform(rows)[0], index=preprocess.get_feature_names_out())


def _row(**changes) -> pd.DataFrame:
    row = typed(covertype_frame(1, seed=7), COVERTYPE)[COVERTYPE.feature_names]
    for name, value in changes.items():
        row[name] = pd.Series([value], dtype=row[name].dtype if value is not None else "str")
    return row


def test_every_documented_category_gets_a_column_not_only_those_in_the_sample(covertype_model):
    names = covertype_model.named_steps["preprocess"].get_feature_names_out()
    assert len(names) == 10 + 4 + 40
    assert [n.split("Soil_Type_")[1] for n in names if "Soil_Type_" in n] == list(SOIL_CODES)


def test_soil_c5151_never_seen_in_training_is_encoded_as_itself(covertype_model):
    encoded = _encoded(covertype_model, _row(Soil_Type="C5151"))
    soil = encoded.filter(like="Soil_Type_")
    assert soil["categorical__Soil_Type_C5151"] == 1.0 and soil.sum() == 1.0
    assert covertype_model.predict(_row(Soil_Type="C5151"))[0] in COVERTYPE.classes


def test_category_outside_the_contract_encodes_as_zeros_and_still_predicts(covertype_model):
    rows = _row(Soil_Type="C9999", Wilderness_Area="Atlantis")
    encoded = _encoded(covertype_model, rows)
    assert encoded.filter(like="Soil_Type_").sum() == 0
    assert encoded.filter(like="Wilderness_Area_").sum() == 0
    assert covertype_model.predict(rows)[0] in COVERTYPE.classes


def test_missing_values_are_imputed(penguins_clean):
    frame = typed(penguins_clean, PENGUINS)
    assert frame["sex"].isna().any()  # the real data has birds of unrecorded sex
    model = build_pipeline(PENGUINS, LogisticRegression(max_iter=500)).fit(frame[PENGUINS.feature_names], frame["species"])
    row = frame[PENGUINS.feature_names].head(1).copy()
    row["sex"] = np.nan
    row["bill_depth_mm"] = np.nan
    assert model.predict(row)[0] in PENGUINS.classes
    # Object columns with None (what a JSON request gives) work the same.
    as_object = row.astype({"sex": object, "island": object})
    as_object.loc[:, "sex"] = None
    assert model.predict(as_object)[0] in PENGUINS.classes


def test_columns_outside_the_contract_are_ignored_and_order_does_not_matter(covertype_model):
    row = _row()
    shuffled = row[list(reversed(row.columns))].assign(comment="not a feature")
    assert covertype_model.predict(shuffled)[0] == covertype_model.predict(row)[0]


def test_preprocessor_of_each_contract_covers_exactly_its_features():
    for contract in (PENGUINS, COVERTYPE):
        pre = build_preprocessor(contract)
        columns = [c for _, _, cols in pre.transformers for c in cols]
        assert sorted(columns) == sorted(contract.feature_names)


def test_served_forest_predicts_single_threaded_with_the_same_answers():
    frame = typed(covertype_frame(), COVERTYPE)
    X, y = frame[COVERTYPE.feature_names], frame["Cover_Type"]
    forest = build_pipeline(COVERTYPE, RandomForestClassifier(n_estimators=10, n_jobs=2, random_state=0)).fit(X, y)
    before = forest.predict(X)
    assert for_single_rows(forest) is forest
    assert forest.named_steps["classifier"].n_jobs == 1
    assert (forest.predict(X) == before).all()
    logistic = build_pipeline(COVERTYPE, LogisticRegression(max_iter=300)).fit(X, y)
    assert for_single_rows(logistic).named_steps["classifier"].get_params()["n_jobs"] is None


def test_penguins_logistic_regression_reaches_the_required_accuracy(penguins_snapshot):
    parts = split(penguins_snapshot, 0.2, 42)
    model = build_pipeline(PENGUINS, LogisticRegression(max_iter=1000)).fit(parts.X_train, parts.y_train)
    assert (model.predict(parts.X_test) == parts.y_test).mean() >= 0.97


# --- Engineered features (Param engineered_features) ------------------------------------------


def test_engineered_features_are_the_penguin_projects_ratios_of_raw_fields(penguins_clean):
    frame = typed(penguins_clean, PENGUINS)
    X = frame[PENGUINS.feature_names]
    preprocess = build_preprocessor(PENGUINS, engineered=True).fit(X)
    assert [name for name, _, _ in preprocess.transformers_][-3:] == ["bill_ratio", "body_mass_kg", "mass_flipper_ratio"]
    assert preprocess.transform(X).shape[1] == 4 + 3 + 2 + 3  # numeric, islands, sexes, engineered
    # Before scaling, each column is the ratio itself.
    complete = X.dropna(subset=["bill_length_mm", "bill_depth_mm", "body_mass_g", "flipper_length_mm"]).head(20)
    expected = {
        "bill_ratio": complete["bill_length_mm"] / complete["bill_depth_mm"],
        "body_mass_kg": complete["body_mass_g"] / 1000,
        "mass_flipper_ratio": complete["body_mass_g"] / complete["flipper_length_mm"],
    }
    for name, steps, columns in preprocess.transformers_:
        if name in expected:
            unscaled = steps[:-1].transform(complete[columns])[:, 0]
            np.testing.assert_allclose(unscaled, expected[name].to_numpy(), rtol=1e-12)
    assert build_preprocessor(PENGUINS).get_params()["transformers"][-1][0] == "categorical"  # off by default


def test_engineered_pipeline_predicts_from_raw_rows_with_missing_values(penguins_clean):
    frame = typed(penguins_clean, PENGUINS)
    model = build_pipeline(PENGUINS, LogisticRegression(max_iter=1000), engineered=True)
    model.fit(frame[PENGUINS.feature_names], frame["species"])
    row = frame[PENGUINS.feature_names].head(1).copy()
    assert model.predict(row)[0] in PENGUINS.classes
    row["bill_depth_mm"] = np.nan  # imputed before the ratio is taken
    assert np.isfinite(model.predict_proba(row)).all()


def test_engineered_pipeline_round_trips_through_skops_with_the_logged_trusted_types(penguins_clean):
    """What inference does: skops.io.load with the trusted types MLflow saved, no training code imported."""
    import skops.io

    from mlops_pipelines.training.tracking import SKOPS_TRUSTED_TYPES

    frame = typed(penguins_clean, PENGUINS)
    X = frame[PENGUINS.feature_names]
    model = build_pipeline(PENGUINS, RandomForestClassifier(n_estimators=5, random_state=0), engineered=True)
    model.fit(X, frame["species"])
    data = skops.io.dumps(model)
    assert set(skops.io.get_untrusted_types(data=data)) <= set(SKOPS_TRUSTED_TYPES)
    loaded = skops.io.loads(data, trusted=SKOPS_TRUSTED_TYPES)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert "mlops_pipelines" not in data.decode("latin-1")
