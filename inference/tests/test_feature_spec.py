import math

import pytest

from inference.feature_spec import FeatureSpec
from specs import COVER_ROW, COVERTYPE_SPEC, PENGUIN_ROW, PENGUINS_SPEC

penguins = FeatureSpec(PENGUINS_SPEC)
cover = FeatureSpec(COVERTYPE_SPEC)


def reasons(spec, row):
    return {e.field: e.reason for e in spec.check_row(row)}


def test_valid_rows():
    assert penguins.check_row(PENGUIN_ROW) == []
    assert penguins.check_row({**PENGUIN_ROW, "sex": None}) == []  # nullable
    assert cover.check_row(COVER_ROW) == []
    assert cover.check_row({**COVER_ROW, "Soil_Type": "C5151"}) == []  # in the domain
    assert cover.check_row({**COVER_ROW, "Elevation": 2783.0}) == []  # integral float


@pytest.mark.parametrize("change, field, reason", [
    ({"island": "Atlantis"}, "island", "'Atlantis' is not one of: Biscoe, Dream, Torgersen"),
    ({"island": 3}, "island", "must be a string, one of: Biscoe, Dream, Torgersen"),
    ({"bill_length_mm": "long"}, "bill_length_mm", "must be a number, got str"),
    ({"bill_length_mm": True}, "bill_length_mm", "must be a number, got bool"),
    ({"bill_length_mm": math.nan}, "bill_length_mm", "must be a finite number (NaN and infinity are not accepted)"),
    ({"bill_length_mm": math.inf}, "bill_length_mm", "must be a finite number (NaN and infinity are not accepted)"),
    ({"body_mass_g": 9000}, "body_mass_g", "9000 is outside the valid range [2500, 6500] g"),
    ({"island": None}, "island", "must not be null"),
    ({"wingspan": 3}, "wingspan", "unknown field; expected one of: island, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, sex"),
])
def test_each_problem_names_the_field_and_the_reason(change, field, reason):
    assert reasons(penguins, {**PENGUIN_ROW, **change}) == {field: reason}


def test_missing_fields_and_integers():
    row = dict(PENGUIN_ROW)
    del row["bill_depth_mm"]
    assert reasons(penguins, row) == {"bill_depth_mm": "missing"}
    assert reasons(cover, {**COVER_ROW, "Elevation": 2783.5}) == {"Elevation": "must be an integer, got 2783.5"}


def test_not_an_object():
    [error] = penguins.check_row([1, 2], index=4)
    assert error.as_dict() == {"field": "(row)", "reason": "must be a JSON object of features, got list", "row": 4}


def test_class_names():
    assert penguins.label_name("Adelie") == "Adélie penguin"
    assert cover.label_name(2) == "Lodgepole Pine"
    assert cover.label_name(9) == "9"
