"""CSV reading and typing, and splitting rejected rows from good ones (no Streamlit, no HTTP)."""

from __future__ import annotations

import pytest

from tests import canned
from ui import batch
from ui.feature_spec import FeatureSpec
from ui.inference_client import FieldProblem, InputRejected, Prediction, PredictionResult, UnexpectedAnswer

PENGUINS = FeatureSpec.from_json(canned.PENGUINS_SPEC)
COVERTYPE = FeatureSpec.from_json(canned.COVERTYPE_SPEC)
HEADER = "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex"


def feature(spec, name):
    return spec.feature(name)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2596", 2596),
        (" 2596 ", 2596),
        ("2596.0", 2596),
        ("-173", -173),
        ("1e3", 1000),
        ("12.5", 12.5),  # not an integer: left for inference to refuse with its own reason
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_integer_cells(text, expected):
    value = batch.convert_cell(feature(COVERTYPE, "Elevation"), text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("text, expected", [("39.1", 39.1), ("181", 181.0), ("", None)])
def test_number_cells_are_floats(text, expected):
    value = batch.convert_cell(feature(PENGUINS, "bill_length_mm"), text)
    assert value == expected and type(value) is type(expected)


def test_categorical_cells_stay_text():
    assert batch.convert_cell(feature(COVERTYPE, "Soil_Type"), " C7745 ") == "C7745"
    assert batch.convert_cell(feature(PENGUINS, "sex"), "") is None


@pytest.mark.parametrize(
    "text, reason", [("forty", "'forty' is not a number"), ("nan", "'nan' is not a finite number"), ("inf", "'inf' is not a finite number")]
)
def test_bad_numbers_are_refused_locally(text, reason):
    with pytest.raises(ValueError, match=reason):
        batch.convert_cell(feature(PENGUINS, "bill_length_mm"), text)


def test_parse_types_rows_keeps_extra_columns_and_lists_local_problems():
    data = (
        "\ufeffid," + HEADER + "\n"
        "a,Torgersen,39.1,18.7,181,3750,male\n"
        "\n"
        "b,Dream,abc,18,190,3800,female\n"
        "c,Dream,40,18,190\n"
        "d,Biscoe,46.1,13.2,211,4500,\n"
    ).encode()
    parsed = batch.parse_csv(data, PENGUINS)
    assert parsed.total_rows == 4  # the blank line is not a row
    assert parsed.ignored_columns == ["id"]
    assert parsed.row_numbers == [1, 4]
    assert parsed.extra == [{"id": "a"}, {"id": "d"}]
    assert parsed.rows == [
        {
            "island": "Torgersen",
            "bill_length_mm": 39.1,
            "bill_depth_mm": 18.7,
            "flipper_length_mm": 181.0,
            "body_mass_g": 3750.0,
            "sex": "male",
        },
        {"island": "Biscoe", "bill_length_mm": 46.1, "bill_depth_mm": 13.2, "flipper_length_mm": 211.0, "body_mass_g": 4500.0, "sex": None},
    ]
    assert parsed.problems == [
        batch.RowProblem(2, "bill_length_mm", "'abc' is not a number"),
        batch.RowProblem(3, "(row)", "has 5 values but the header names 7 columns"),
    ]


def test_semicolon_separated_files_are_read():
    data = (HEADER.replace(",", ";") + "\nDream;40;18;190;3800;female\n").encode()
    assert batch.parse_csv(data, PENGUINS).rows[0]["island"] == "Dream"


def test_columns_may_come_in_any_order():
    data = b"sex,body_mass_g,flipper_length_mm,bill_depth_mm,bill_length_mm,island\nmale,3750,181,18.7,39.1,Torgersen\n"
    assert batch.parse_csv(data, PENGUINS).rows[0] == canned.PENGUINS_EXAMPLE[0]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty"),
        (b"island,bill_length_mm\nDream,40\n", "no column for: bill_depth_mm, flipper_length_mm, body_mass_g, sex"),
        ((HEADER + "\n").encode(), "no rows to predict"),
        ((HEADER + ",island\nDream,40,18,190,3800,female,Dream\n").encode(), "more than once: island"),
        ("island\n\xe9".encode("latin-1"), "not UTF-8"),
    ],
)
def test_file_level_problems(data, message):
    with pytest.raises(batch.CsvError, match=message):
        batch.parse_csv(data, PENGUINS)


def test_too_many_rows():
    data = (HEADER + "\n" + "Dream,40,18,190,3800,female\n" * 4).encode()
    with pytest.raises(batch.CsvError, match="more than 3 rows"):
        batch.parse_csv(data, PENGUINS, max_rows=3)


def test_rejected_rows_groups_problems_by_row():
    problems = [FieldProblem("island", "bad", 2), FieldProblem("sex", "bad too", 2), FieldProblem("body_mass_g", "low", 0)]
    assert batch.rejected_rows(problems, 3) == {2: problems[:2], 0: problems[2:]}


def test_a_problem_without_a_row_is_not_a_row_problem():
    assert batch.rejected_rows([FieldProblem("rows", "has 2000 rows; at most 1000 per request")], 2000) == {}
    assert batch.rejected_rows([FieldProblem("island", "bad", 5)], 3) == {}


class FakePredict:
    """Refuses rows whose island is not a known one, the way inference does (whole batch, row indices)."""

    def __init__(self):
        self.calls: list[list[dict]] = []

    def __call__(self, rows):
        self.calls.append(rows)
        bad = [
            FieldProblem("island", f"{r['island']!r} is not one of: Biscoe, Dream, Torgersen", i)
            for i, r in enumerate(rows)
            if r["island"] not in ("Biscoe", "Dream", "Torgersen")
        ]
        if bad:
            raise InputRejected(bad)
        return PredictionResult("penguins-classifier", "3", [Prediction(r["island"], r["island"], {r["island"]: 1.0}) for r in rows])


def rows(*islands):
    return [{"island": island} for island in islands]


def test_predict_rows_re_sends_the_good_rows():
    predict = FakePredict()
    outcome = batch.predict_rows(predict, rows("Dream", "Atlantis", "Biscoe", "Mu"))
    assert [len(c) for c in predict.calls] == [4, 2]
    assert {i: p.label for i, p in outcome.predictions.items()} == {0: "Dream", 2: "Biscoe"}
    assert sorted(outcome.rejected) == [1, 3]
    assert outcome.rejected[3] == [FieldProblem("island", "'Mu' is not one of: Biscoe, Dream, Torgersen", 3)]
    assert (outcome.model, outcome.version) == ("penguins-classifier", "3")


def test_predict_rows_in_chunks_with_indices_of_the_whole_file():
    predict = FakePredict()
    outcome = batch.predict_rows(predict, rows("Dream", "Dream", "Atlantis", "Biscoe", "Mu"), chunk_rows=2)
    assert [len(c) for c in predict.calls] == [2, 2, 1, 1]
    assert sorted(outcome.predictions) == [0, 1, 3]
    assert sorted(outcome.rejected) == [2, 4]
    assert outcome.rejected[2][0].row == 2


def test_predict_rows_when_every_row_is_bad():
    predict = FakePredict()
    outcome = batch.predict_rows(predict, rows("Atlantis", "Mu"))
    assert len(predict.calls) == 1 and not outcome.predictions and sorted(outcome.rejected) == [0, 1]


def test_a_refusal_of_the_whole_request_propagates():
    def predict(rows):
        raise InputRejected([FieldProblem("rows", "is empty")])

    with pytest.raises(InputRejected):
        batch.predict_rows(predict, rows("Dream"))


def test_other_failures_propagate():
    def predict(rows):
        raise UnexpectedAnswer("HTTP 500")

    with pytest.raises(UnexpectedAnswer):
        batch.predict_rows(predict, rows("Dream"))


def test_results_and_rejected_tables_and_csv():
    parsed = batch.parse_csv(("id," + HEADER + "\nx,Torgersen,39.1,18.7,181,3750,male\ny,Atlantis,40,18,190,3800,\n").encode(), PENGUINS)
    outcome = batch.BatchOutcome(
        "penguins-classifier",
        "3",
        predictions={0: Prediction("Adelie", "Adélie penguin", {"Adelie": 0.9, "Chinstrap": 0.06, "Gentoo": 0.04})},
        rejected={1: [FieldProblem("island", "'Atlantis' is not one of: Biscoe, Dream, Torgersen", 1)]},
    )
    table = batch.results_table(parsed, outcome, PENGUINS)
    assert table.columns.tolist() == [
        "row",
        "id",
        *PENGUINS.names,
        "predicted_label",
        "predicted_name",
        "confidence",
        "probability_Adelie",
        "probability_Chinstrap",
        "probability_Gentoo",
    ]
    assert batch.to_csv_bytes(table).decode().splitlines() == [
        "row,id,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,predicted_label,predicted_name,"
        "confidence,probability_Adelie,probability_Chinstrap,probability_Gentoo",
        "1,x,Torgersen,39.1,18.7,181.0,3750.0,male,Adelie,Adélie penguin,0.9,0.9,0.06,0.04",
    ]
    assert batch.rejected_table(parsed, outcome).to_dict("records") == [
        {"row": 2, "field": "island", "reason": "'Atlantis' is not one of: Biscoe, Dream, Torgersen"}
    ]


def test_results_table_keeps_integer_labels_and_integer_features():
    data = ",".join(COVERTYPE.names) + "\n" + ",".join(str(canned.COVERTYPE_EXAMPLE[0][n]) for n in COVERTYPE.names) + "\n"
    parsed = batch.parse_csv(data.encode(), COVERTYPE)
    probabilities = {str(c): (0.94 if c == 2 else 0.01) for c in range(1, 8)}
    outcome = batch.BatchOutcome("covertype-classifier", "3", predictions={0: Prediction(2, "Lodgepole Pine", probabilities)})
    line = batch.to_csv_bytes(batch.results_table(parsed, outcome, COVERTYPE)).decode().splitlines()[1]
    assert line.startswith("1,2596,51,3,258,0,510,221,232,148,6279,Rawah,C7745,2,Lodgepole Pine,0.94,0.01,0.94,")
