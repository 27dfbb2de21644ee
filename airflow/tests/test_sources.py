import pytest
import requests

from mlops_pipelines.contracts import PENGUINS
from mlops_pipelines.sources import (
    COVERTYPE_RAW_COLUMNS,
    DataExhausted,
    as_text,
    fetch_covertype_batch,
    load_penguins_raw,
    penguins_to_features,
)
from mlops_pipelines.validation import validate


def test_penguins_raw_data_from_the_package():
    raw = load_penguins_raw()
    assert len(raw) == 344
    assert raw.loc[0, "species"] == "Adelie Penguin (Pygoscelis adeliae)"
    assert raw.loc[0, "culmen_length_mm"] == "39.1"
    assert raw.loc[0, "flipper_length_mm"] == "181"  # no spurious ".0"
    assert raw["culmen_length_mm"].isna().sum() == 2


def test_penguins_raw_to_clean():
    features = penguins_to_features(load_penguins_raw())
    assert set(features["species"].dropna()) == set(PENGUINS.classes)
    assert set(features["sex"].dropna()) == {"male", "female"}
    result = validate(features, PENGUINS)
    # The two birds without measurements are rejected; missing sex alone is fine.
    assert result.counts == {"clean": 342, "rejected": 2}
    assert result.clean["sex"].isna().sum() == 9
    assert set(result.rejected["reason"]) == {
        "bill_length_mm: missing; bill_depth_mm: missing; flipper_length_mm: missing; body_mass_g: missing"
    }


def test_as_text():
    assert as_text(None) is None and as_text(float("nan")) is None
    assert as_text(3.0) == "3" and as_text(3.5) == "3.5" and as_text("Rawah") == "Rawah" and as_text(-4) == "-4"


def test_fetch_covertype_batch(fake_data_api):
    url, replies = fake_data_api
    row = [2783, 48, 6, 361, -4, 886, 222, 227, 140, 1052, "Comanche", "C4704", 2]
    replies.append((200, {"group_number": 3, "batch_number": 2, "data": [row, row]}))
    batch = fetch_covertype_batch(url, 3)
    assert (batch.group_number, batch.batch_number) == (3, 2)
    assert list(batch.frame.columns) == COVERTYPE_RAW_COLUMNS
    assert batch.frame.iloc[0].tolist() == [str(v) for v in row]
    assert replies[-1] == ("path", "/data?group_number=3")


def test_end_of_data_is_its_own_error(fake_data_api):
    url, replies = fake_data_api
    gone = {"type": "exhausted", "loc": ["query", "group_number"], "msg": "All 10 batches have been delivered for group 1."}
    replies.append((410, {"detail": [gone], "group_number": 1, "n_batches": 10}))
    with pytest.raises(DataExhausted) as raised:
        fetch_covertype_batch(url, 1)
    assert str(raised.value) == "All 10 batches have been delivered for group 1."
    # Which batch was the last, without parsing the sentence.
    assert raised.value.last_batch == 10
    # A source that does not say which batch was the last (the course API's shape).
    replies.clear()
    replies.append((410, {"detail": "no more data"}))
    with pytest.raises(DataExhausted, match="no more data") as info:
        fetch_covertype_batch(url, 1)
    assert info.value.last_batch is None


@pytest.mark.parametrize(
    "body, message",
    [
        ({"detail": "all 10 batches delivered to group 1"}, "all 10 batches delivered to group 1"),  # the course API's shape
        ({"detail": [{"msg": "first"}, {"msg": "second"}]}, "first; second"),
        ({"error": "no detail"}, '{"error": "no detail"}'),
    ],
)
def test_end_of_data_message_from_either_error_shape(fake_data_api, body, message):
    url, replies = fake_data_api
    replies.append((410, body))
    with pytest.raises(DataExhausted) as raised:
        fetch_covertype_batch(url, 1)
    assert str(raised.value) == message


def test_other_errors_say_why(fake_data_api):
    url, replies = fake_data_api
    reason = "No Covertype data at /data/covertype.csv.gz; set DATA_API_DATA_PATH"
    replies.append((503, {"detail": [{"type": "unavailable", "loc": [], "msg": reason}]}))
    with pytest.raises(requests.HTTPError, match=r"503 from data_api: No Covertype data at /data/covertype\.csv\.gz"):
        fetch_covertype_batch(url, 1)


def test_malformed_rows_are_refused(fake_data_api):
    url, replies = fake_data_api
    replies.append((200, {"group_number": 1, "batch_number": 1, "data": [[1, 2, 3]]}))
    with pytest.raises(ValueError, match="without 13 values"):
        fetch_covertype_batch(url, 1)


def test_named_columns_are_checked_against_the_contract(fake_data_api):
    url, replies = fake_data_api
    row = [2783, 48, 6, 361, -4, 886, 222, 227, 140, 1052, "Comanche", "C4704", 2]
    replies.append((200, {"group_number": 1, "batch_number": 1, "columns": COVERTYPE_RAW_COLUMNS, "data": [row]}))
    assert fetch_covertype_batch(url, 1).frame.iloc[0].tolist() == [str(v) for v in row]
    swapped = [COVERTYPE_RAW_COLUMNS[1], COVERTYPE_RAW_COLUMNS[0], *COVERTYPE_RAW_COLUMNS[2:]]
    replies.clear()
    replies.append((200, {"group_number": 1, "batch_number": 1, "columns": swapped, "data": [row]}))
    with pytest.raises(ValueError, match="are not the covertype contract's"):
        fetch_covertype_batch(url, 1)
