"""Service tests of the data tables against a real MySQL server."""

import pandas as pd
import pytest
from sqlalchemy import inspect, select, text

from mlops_pipelines import ingestion, storage
from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.ingestion import clean, ingest_penguins
from mlops_pipelines.sources import COVERTYPE_RAW_COLUMNS
from mlops_pipelines.tables import CLEAN, RAW, REJECTED, create_tables

pytestmark = pytest.mark.mysql

GOOD = ["2783", "48", "6", "361", "-4", "886", "222", "227", "140", "1052", "Comanche", "C4704", "2"]


def batch(n: int, start: int = 0) -> pd.DataFrame:
    """n distinct, valid Covertype rows."""
    rows = [[str(2000 + start + i), *GOOD[1:]] for i in range(n)]
    return pd.DataFrame(rows, columns=COVERTYPE_RAW_COLUMNS)


def insert(engine, frame, batch_number=1):
    return storage.insert_raw(engine, COVERTYPE, frame, group_number=1, batch_number=batch_number, fetched_at=storage.utcnow())


def test_tables_are_created_once_and_kept(mysql_engine):
    create_tables(mysql_engine)
    insert(mysql_engine, batch(3))
    create_tables(mysql_engine)  # an existing database upgrades without losing rows
    names = set(inspect(mysql_engine).get_table_names())
    assert {"covertype_raw", "covertype_clean", "covertype_rejected", "penguins_raw", "penguins_clean", "penguins_rejected"} <= names
    assert storage.table_counts(mysql_engine, COVERTYPE)["raw"] == 3


def test_same_batch_twice_leaves_one_copy(mysql_engine):
    create_tables(mysql_engine)
    first = insert(mysql_engine, batch(50))
    again = insert(mysql_engine, batch(50))
    overlapping = insert(mysql_engine, batch(50, start=25), batch_number=2)
    assert first == {"received": 50, "inserted": 50, "duplicates": 0}
    assert again == {"received": 50, "inserted": 0, "duplicates": 50}
    assert overlapping == {"received": 50, "inserted": 25, "duplicates": 25}
    with mysql_engine.connect() as conn:
        rows = conn.execute(select(RAW["covertype"].c.batch_number, RAW["covertype"].c.Elevation)).all()
    assert len(rows) == 75
    assert sorted(int(e) for _, e in rows) == list(range(2000, 2075))
    # Rows first seen in batch 1 keep batch 1.
    assert {b for b, e in rows if int(e) < 2050} == {1}


def test_duplicates_within_one_delivery_are_stored_once(mysql_engine):
    create_tables(mysql_engine)
    frame = pd.concat([batch(5), batch(5)])
    assert insert(mysql_engine, frame) == {"received": 10, "inserted": 5, "duplicates": 5}


def test_failure_mid_insert_leaves_nothing(mysql_engine, monkeypatch):
    create_tables(mysql_engine)
    monkeypatch.setattr(storage, "CHUNK", 10)
    frame = batch(35)
    # The 4th chunk holds a value too long for its column: MySQL refuses it after
    # three chunks went in, and the transaction takes those back.
    frame.loc[32, "Soil_Type"] = "x" * 300
    with pytest.raises(Exception):  # noqa: B017  # the driver's error class depends on MySQL or MariaDB
        insert(mysql_engine, frame)
    assert storage.table_counts(mysql_engine, COVERTYPE)["raw"] == 0
    # A retry with good data then goes through whole.
    assert insert(mysql_engine, batch(35))["inserted"] == 35


def test_preprocess_splits_and_is_idempotent(mysql_engine):
    create_tables(mysql_engine)
    frame = batch(4)
    frame.loc[1, "Hillshade_9am"] = "300"
    frame.loc[2, "Soil_Type"] = "C5151"  # valid even though the sample never has it
    frame.loc[3, "Cover_Type"] = None
    insert(mysql_engine, frame)
    assert ingestion.validate_pending(mysql_engine, COVERTYPE) == {"processed": 4, "clean": 2, "rejected": 2}
    assert ingestion.validate_pending(mysql_engine, COVERTYPE) == {"processed": 0, "clean": 0, "rejected": 0}
    with mysql_engine.connect() as conn:
        clean_rows = conn.execute(select(CLEAN["covertype"])).mappings().all()
        rejected = conn.execute(select(REJECTED["covertype"].c.reason, REJECTED["covertype"].c.row_json)).all()
    assert sorted(r["Soil_Type"] for r in clean_rows) == ["C4704", "C5151"]
    assert all(isinstance(r["Elevation"], int) for r in clean_rows)
    assert sorted(r.reason for r in rejected) == ["Cover_Type: missing", "Hillshade_9am: 300.0 outside [0, 255]"]
    assert any('"Hillshade_9am": "300"' in r.row_json for r in rejected)
    # New raw rows are picked up by the next run.
    insert(mysql_engine, batch(2, start=100), batch_number=2)
    assert ingestion.validate_pending(mysql_engine, COVERTYPE) == {"processed": 2, "clean": 2, "rejected": 0}


def test_penguins_end_to_end_in_mysql(mysql_engine):
    assert ingest_penguins(mysql_engine) == {"received": 344, "inserted": 344, "duplicates": 0}
    assert ingest_penguins(mysql_engine)["inserted"] == 0
    counts = clean(mysql_engine, PENGUINS)
    assert counts["processed"] == 344 and counts["clean"] == 342 and counts["rejected"] == 2
    assert counts["total_raw"] == 344 and counts["total_clean"] == 342 and counts["total_rejected"] == 2
    with mysql_engine.connect() as conn:
        species = conn.execute(text("SELECT species, COUNT(*) FROM penguins_clean GROUP BY species ORDER BY species")).all()
    assert [tuple(r) for r in species] == [("Adelie", 151), ("Chinstrap", 68), ("Gentoo", 123)]
