import math

import pandas as pd
import pytest

from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.validation import validate

GOOD_PENGUIN = {
    "island": "Dream",
    "bill_length_mm": "39.1",
    "bill_depth_mm": "18.7",
    "flipper_length_mm": "181",
    "body_mass_g": "3750",
    "sex": "male",
    "species": "Adelie",
}
GOOD_COVER = ["2783", "48", "6", "361", "-4", "886", "222", "227", "140", "1052", "Comanche", "C4704", "2"]


def penguins(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame([{**GOOD_PENGUIN, **change} for change in changes])


def covertype(*rows: list) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=[*COVERTYPE.feature_names, COVERTYPE.target])


def test_valid_rows_are_typed():
    result = validate(penguins({}), PENGUINS)
    assert result.counts == {"clean": 1, "rejected": 0}
    row = result.clean.iloc[0]
    assert row["bill_length_mm"] == 39.1 and row["body_mass_g"] == 3750.0
    assert row["species"] == "Adelie" and row["island"] == "Dream"

    cover = validate(covertype(GOOD_COVER), COVERTYPE).clean
    assert cover["Elevation"].dtype == "int64" and cover.loc[0, "Elevation"] == 2783
    assert cover.loc[0, "Vertical_Distance_To_Hydrology"] == -4
    assert cover.loc[0, "Cover_Type"] == 2


def test_missing_sex_is_allowed_missing_measurement_is_not():
    result = validate(penguins({"sex": None}, {"bill_length_mm": None}), PENGUINS)
    assert result.counts == {"clean": 1, "rejected": 1}
    assert result.clean.loc[0, "sex"] is None
    assert result.rejected.loc[0, "reason"] == "bill_length_mm: missing"


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"island": "Atlantis"}, "island: 'Atlantis' not one of [Biscoe, Dream, Torgersen]"),
        ({"sex": "."}, "sex: '.' not one of [female, male]"),
        ({"bill_depth_mm": "deep"}, "bill_depth_mm: deep is not a number"),
        ({"body_mass_g": "12000"}, "body_mass_g: 12000.0 outside [2500, 6500]"),
        ({"flipper_length_mm": "-5"}, "flipper_length_mm: -5.0 outside [160, 240]"),
        ({"bill_length_mm": "inf"}, "bill_length_mm: must be finite"),
        ({"species": "Emperor"}, "species: 'Emperor' not one of [Adelie, Chinstrap, Gentoo]"),
        ({"species": None}, "species: missing"),
        ({"island": "  "}, "island: missing"),
    ],
)
def test_rejected_penguin_rows_say_why(change, reason):
    result = validate(penguins({}, change), PENGUINS)
    assert result.counts == {"clean": 1, "rejected": 1}
    assert result.rejected.loc[0, "reason"] == reason


def test_nan_is_missing():
    result = validate(penguins({"bill_length_mm": math.nan}), PENGUINS)
    assert result.rejected.loc[0, "reason"] == "bill_length_mm: missing"


def test_every_problem_of_a_row_is_listed():
    result = validate(penguins({"island": "Atlantis", "body_mass_g": "1", "species": "Emperor"}), PENGUINS)
    assert result.rejected.loc[0, "reason"] == (
        "island: 'Atlantis' not one of [Biscoe, Dream, Torgersen]; "
        "body_mass_g: 1.0 outside [2500, 6500]; "
        "species: 'Emperor' not one of [Adelie, Chinstrap, Gentoo]"
    )


def test_covertype_rules():
    soil_absent_from_sample = [*GOOD_COVER[:11], "C5151", "1"]
    rows = [
        GOOD_COVER,
        soil_absent_from_sample,
        [*GOOD_COVER[:11], "C9999", "2"],
        ["2783.5", *GOOD_COVER[1:]],
        [*GOOD_COVER[:6], "300", *GOOD_COVER[7:]],
        [*GOOD_COVER[:10], "Yosemite", *GOOD_COVER[11:]],
        [*GOOD_COVER[:12], "8"],
        [*GOOD_COVER[:12], "0"],
    ]
    result = validate(covertype(*rows), COVERTYPE)
    assert result.counts == {"clean": 2, "rejected": 6}
    assert result.clean["Soil_Type"].tolist() == ["C4704", "C5151"]
    reasons = result.rejected["reason"].tolist()
    assert reasons[0].startswith("Soil_Type: 'C9999' not one of [C2702, C2703")
    assert reasons[1] == "Elevation: 2783.5 is not an integer"
    assert reasons[2] == "Hillshade_9am: 300.0 outside [0, 255]"
    assert reasons[3] == "Wilderness_Area: 'Yosemite' not one of [Rawah, Neota, Comanche, Cache]"
    assert reasons[4] == "Cover_Type: '8' not one of [1, 2, 3, 4, 5, 6, 7]"
    assert reasons[5] == "Cover_Type: '0' not one of [1, 2, 3, 4, 5, 6, 7]"


def test_extra_columns_are_carried_through():
    frame = penguins({}, {"island": "Atlantis"})
    frame.insert(0, "fingerprint", ["a", "b"])
    result = validate(frame, PENGUINS)
    assert result.clean["fingerprint"].tolist() == ["a"]
    assert result.rejected["fingerprint"].tolist() == ["b"]


def test_missing_column_is_an_error_not_a_rejection():
    with pytest.raises(KeyError, match="island"):
        validate(penguins({}).drop(columns="island"), PENGUINS)


def test_empty_input():
    result = validate(penguins({}).iloc[0:0], PENGUINS)
    assert result.counts == {"clean": 0, "rejected": 0}
