"""The training snapshot read from a real MySQL clean table (TEST_MYSQL_URL)."""

import pytest
from training_helpers import covertype_frame

from mlops_pipelines import ingestion, storage
from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.ingestion import clean, ingest_penguins
from mlops_pipelines.sources import COVERTYPE_RAW_COLUMNS
from mlops_pipelines.tables import create_tables
from mlops_pipelines.training.data import read_snapshot, snapshot_max_id

pytestmark = pytest.mark.mysql


def add_covertype_rows(engine, frame, batch_number):
    raw = frame[COVERTYPE_RAW_COLUMNS].astype(str)
    storage.insert_raw(engine, COVERTYPE, raw, group_number=1, batch_number=batch_number, fetched_at=storage.utcnow())
    ingestion.validate_pending(engine, COVERTYPE)


def test_snapshot_is_the_clean_rows_up_to_its_id_typed_per_contract(mysql_engine):
    create_tables(mysql_engine)
    assert snapshot_max_id(mysql_engine, COVERTYPE) is None
    add_covertype_rows(mysql_engine, covertype_frame(30, seed=1), 1)
    max_id = snapshot_max_id(mysql_engine, COVERTYPE)
    add_covertype_rows(mysql_engine, covertype_frame(20, seed=2), 2)  # arrives while the run trains
    snapshot = read_snapshot(mysql_engine, COVERTYPE, max_id)
    assert snapshot.rows == 30 and snapshot.source.max_id == max_id
    assert list(snapshot.frame.columns) == [*COVERTYPE.feature_names, "Cover_Type"]
    assert snapshot.frame["Elevation"].dtype == "int64" and snapshot.frame["Cover_Type"].dtype == "int64"
    expected = covertype_frame(30, seed=1)
    assert snapshot.frame["Elevation"].tolist() == expected["Elevation"].tolist()  # id order
    # Every task of a DAG run reads the same rows, hence the same digest.
    assert read_snapshot(mysql_engine, COVERTYPE, max_id).digest == snapshot.digest
    assert read_snapshot(mysql_engine, COVERTYPE, snapshot_max_id(mysql_engine, COVERTYPE)).rows == 50


def test_penguins_snapshot_keeps_missing_sex(mysql_engine):
    ingest_penguins(mysql_engine)
    clean(mysql_engine, PENGUINS)
    snapshot = read_snapshot(mysql_engine, PENGUINS, snapshot_max_id(mysql_engine, PENGUINS))
    assert snapshot.rows == 342
    assert snapshot.frame["sex"].isna().sum() > 0
    assert snapshot.frame["species"].value_counts().to_dict() == {"Adelie": 151, "Gentoo": 123, "Chinstrap": 68}
