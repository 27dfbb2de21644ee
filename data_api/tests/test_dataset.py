import gzip
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from data_api import dataset
from data_api.dataset import (
    CACHE_FILE_NAME,
    COLUMNS,
    SOIL_TYPES,
    WILDERNESS_AREAS,
    DatasetError,
    convert_uci,
    load_dataset,
    read_covertype_csv,
)

from .conftest import make_frame

HEADER = (
    "Elevation,Aspect,Slope,Horizontal_Distance_To_Hydrology,Vertical_Distance_To_Hydrology,"
    "Horizontal_Distance_To_Roadways,Hillshade_9am,Hillshade_Noon,Hillshade_3pm,"
    "Horizontal_Distance_To_Fire_Points,Wilderness_Area,Soil_Type,Cover_Type"
)


def uci_rows() -> tuple[np.ndarray, np.ndarray]:
    """Three rows in sklearn's fetch_covtype layout: float64 (n, 54) and targets 1..7."""
    x = np.zeros((3, 54))
    x[0, :10] = [2783, 48, 6, 361, -4, 886, 222, 227, 140, 1052]
    x[0, 10 + 2] = 1  # Wilderness_Area3 = Comanche
    x[0, 14 + 10] = 1  # Soil_Type11 = C4704
    x[1, :10] = [3000, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    x[1, 10 + 0] = 1  # Rawah
    x[1, 14 + 0] = 1  # Soil_Type1 = C2702
    x[2, :10] = [1859, 360, 66, 1397, -173, 7117, 254, 254, 254, 7173]
    x[2, 10 + 3] = 1  # Cache
    x[2, 14 + 39] = 1  # Soil_Type40 = C8776
    return x, np.array([2, 1, 7])


def test_contract_constants() -> None:
    assert ",".join(COLUMNS) == HEADER
    assert len(SOIL_TYPES) == 40 and len(set(SOIL_TYPES)) == 40
    assert (SOIL_TYPES[0], SOIL_TYPES[10], SOIL_TYPES[14], SOIL_TYPES[39]) == ("C2702", "C4704", "C5151", "C8776")
    assert WILDERNESS_AREAS == ("Rawah", "Neota", "Comanche", "Cache")


def test_convert_uci_54_to_13_columns() -> None:
    x, y = uci_rows()
    df = convert_uci(x, y)
    assert list(df.columns) == list(COLUMNS)
    assert df.iloc[0].tolist() == [2783, 48, 6, 361, -4, 886, 222, 227, 140, 1052, "Comanche", "C4704", 2]
    assert df.iloc[1].tolist() == [3000, 0, 0, 0, 0, 0, 0, 0, 0, 0, "Rawah", "C2702", 1]
    assert df.iloc[2].tolist() == [1859, 360, 66, 1397, -173, 7117, 254, 254, 254, 7173, "Cache", "C8776", 7]
    assert all(df[c].dtype == np.int64 for c in COLUMNS[:10] + ("Cover_Type",))


@pytest.mark.parametrize(
    "breakage",
    ["two_wilderness", "no_soil", "bad_target", "fractional", "wrong_width"],
)
def test_convert_uci_rejects_bad_input(breakage: str) -> None:
    x, y = uci_rows()
    if breakage == "two_wilderness":
        x[0, 10] = 1
    elif breakage == "no_soil":
        x[1, 14:54] = 0
    elif breakage == "bad_target":
        y = np.array([0, 1, 2])
    elif breakage == "fractional":
        x[0, 0] = 2783.5
    else:
        x = x[:, :53]
    with pytest.raises(DatasetError):
        convert_uci(x, y)


def test_read_csv_keeps_types(tmp_path: Path) -> None:
    path = tmp_path / "c.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(HEADER + "\n2783,48,6,361,-4,886,222,227,140,1052,Comanche,C4704,2\n")
    df = read_covertype_csv(path)
    row = df.iloc[0].tolist()
    assert row == [2783, 48, 6, 361, -4, 886, 222, 227, 140, 1052, "Comanche", "C4704", 2]
    assert df["Soil_Type"].dtype == object and isinstance(row[11], str)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HEADER.replace("Slope", "slope") + "\n", "header"),
        (HEADER + "\n2783,48,6,361,-4,886,222,227,140,1052,Comanche,C4704,9\n", "Cover_Type"),
        (HEADER + "\n2783,48,6,361,-4,886,222,227,140,1052,Nowhere,C4704,2\n", "Wilderness_Area"),
        (HEADER + "\n2783,48,6,361,-4,886,222,227,140,1052,Comanche,C0000,2\n", "Soil_Type"),
        (HEADER + "\n2783,x,6,361,-4,886,222,227,140,1052,Comanche,C4704,2\n", "cannot parse"),
        (HEADER + "\n", "no data rows"),
    ],
)
def test_read_csv_rejects_contract_violations(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        read_covertype_csv(path)


def test_missing_file_downloads_converts_and_caches_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fake_fetch(**kwargs: Any) -> SimpleNamespace:
        calls.append(kwargs)
        x, y = uci_rows()
        return SimpleNamespace(data=x, target=y)

    monkeypatch.setattr(dataset, "_fetch_covtype", fake_fetch)
    state_dir = tmp_path / "state"
    df = load_dataset(tmp_path / "missing.csv.gz", state_dir)
    assert calls == [{"data_home": str(state_dir / "sklearn_data"), "download_if_missing": True}]
    assert df.iloc[0].tolist()[10:] == ["Comanche", "C4704", 2]
    cache = state_dir / CACHE_FILE_NAME
    with gzip.open(cache, "rt") as fh:
        assert fh.readline().strip() == HEADER
        assert fh.readline().strip() == "2783,48,6,361,-4,886,222,227,140,1052,Comanche,C4704,2"
    # Second start: served from the cache, no second download.
    again = load_dataset(tmp_path / "missing.csv.gz", state_dir)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(df, again)


def test_existing_data_path_wins_over_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset, "_fetch_covtype", lambda **kw: pytest.fail("must not download"))
    path = tmp_path / "c.csv"
    make_frame(30).to_csv(path, index=False)
    assert len(load_dataset(path, tmp_path / "state")) == 30


@pytest.mark.skipif(not os.environ.get("COVERTYPE_PATH"), reason="COVERTYPE_PATH not set")
def test_real_file() -> None:
    path = Path(os.environ["COVERTYPE_PATH"])
    with gzip.open(path, "rt") as fh:
        assert fh.readline().rstrip("\n") == HEADER
    df = read_covertype_csv(path)
    assert df.shape[1] == 13 and len(df) > 1000
    assert set(df["Wilderness_Area"]) == set(WILDERNESS_AREAS)
    assert set(df["Cover_Type"]) == set(range(1, 8))
    assert df["Elevation"].between(1859, 3858).all()


def test_columns_are_the_contracts_in_its_order():
    """Rows travel by position: the order is the covertype feature spec's, then its target."""
    spec = json.loads((Path(__file__).resolve().parents[2] / "contract" / "specs" / "covertype.json").read_text())
    assert list(dataset.COLUMNS) == [f["name"] for f in spec["features"]] + [spec["target"]["name"]]
