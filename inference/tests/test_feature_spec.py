import math

import pytest
from specs import COVER_ROW, COVERTYPE_SPEC, PENGUIN_ROW, PENGUINS_SPEC

from inference.feature_spec import FeatureSpec

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


@pytest.mark.parametrize(
    "change, field, reason",
    [
        ({"island": "Atlantis"}, "island", "'Atlantis' is not one of: Biscoe, Dream, Torgersen"),
        ({"island": 3}, "island", "must be a string, one of: Biscoe, Dream, Torgersen"),
        ({"bill_length_mm": "long"}, "bill_length_mm", "must be a number, got str"),
        ({"bill_length_mm": True}, "bill_length_mm", "must be a number, got bool"),
        ({"bill_length_mm": math.nan}, "bill_length_mm", "must be a finite number (NaN and infinity are not accepted)"),
        ({"bill_length_mm": math.inf}, "bill_length_mm", "must be a finite number (NaN and infinity are not accepted)"),
        ({"body_mass_g": 9000}, "body_mass_g", "9000 is outside the valid range [2500, 6500] g"),
        ({"body_mass_g": 10**400}, "body_mass_g", f"{10**400} is outside the valid range [2500, 6500] g"),
        ({"island": None}, "island", "must not be null"),
        (
            {"wingspan": 3},
            "wingspan",
            "unknown field; expected one of: island, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, sex",
        ),
    ],
)
def test_each_problem_names_the_field_and_the_reason(change, field, reason):
    assert reasons(penguins, {**PENGUIN_ROW, **change}) == {field: reason}


def test_missing_fields_and_integers():
    row = dict(PENGUIN_ROW)
    del row["bill_depth_mm"]
    assert reasons(penguins, row) == {"bill_depth_mm": "missing"}
    assert reasons(cover, {**COVER_ROW, "Elevation": 2783.5}) == {"Elevation": "must be an integer, got 2783.5"}
    assert reasons(cover, {**COVER_ROW, "Elevation": -(10**400)}) == {
        "Elevation": f"{-(10**400)} is outside the valid range [1859, 3858] m"
    }


def test_not_an_object():
    [error] = penguins.check_row([1, 2], index=4)
    assert (error.field, error.reason, error.row, error.type) == ("(row)", "must be a JSON object of features, got list", 4, "dict_type")


def test_class_names():
    assert penguins.label_name("Adelie") == "Adélie penguin"
    assert cover.label_name(2) == "Lodgepole Pine"
    assert cover.label_name(9) == "9"


# The OpenAPI document publishes `row_schema()`; it must accept exactly the rows
# `check_row` accepts, or clients and fuzzers are told a different contract.
import jsonschema_rs  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def valid_value(feature):
    if feature["kind"] == "categorical":
        return st.sampled_from(feature["categories"])
    if feature["type"] == "integer":
        return st.integers(int(feature["minimum"]), int(feature["maximum"]))
    return st.floats(feature["minimum"], feature["maximum"])


WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.integers(),
    st.sampled_from([10**400, -(10**400)]),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.just("<missing>"),
)


def rows_for(spec):
    """A valid row, then at most one field made wrong or dropped, and maybe an unknown key."""
    valid = st.fixed_dictionaries({f["name"]: valid_value(f) for f in spec.features})
    change = st.one_of(st.none(), st.tuples(st.sampled_from(spec.names), WRONG))
    extra = st.dictionaries(st.sampled_from(["wingspan", "rows"]), st.integers(), max_size=1)

    def build(row, changed, more):
        row = {**more, **row}
        if changed:
            row[changed[0]] = changed[1]
        return {k: v for k, v in row.items() if v != "<missing>"}

    return st.builds(build, valid, change, extra)


@pytest.mark.parametrize("spec", [penguins, cover], ids=["penguins", "covertype"])
def test_row_schema_accepts_exactly_what_check_row_accepts(spec):
    validator = jsonschema_rs.validator_for(spec.row_schema())

    @settings(max_examples=400, deadline=None)
    @given(rows_for(spec))
    def agree(row):
        assert validator.is_valid(row) == (spec.check_row(row) == []), (row, spec.check_row(row))

    agree()
    assert validator.is_valid(PENGUIN_ROW if spec is penguins else COVER_ROW)


def test_a_spec_version_this_service_does_not_know_is_refused_clearly():
    from inference.feature_spec import UnknownSpecVersion

    with pytest.raises(UnknownSpecVersion, match="spec_version 2; this inference service reads versions 1: upgrade inference"):
        FeatureSpec({**PENGUINS_SPEC, "spec_version": 2})
    # Specs logged before the format had versions are version 1.
    assert FeatureSpec({k: v for k, v in PENGUINS_SPEC.items() if k != "spec_version"}).names == penguins.names
