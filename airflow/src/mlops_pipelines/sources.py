"""Where raw data comes from: the palmerpenguins package and the data_api service."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import requests

from mlops_pipelines.contracts import COVERTYPE, PENGUINS

# Columns of palmerpenguins' raw data (penguins-raw.csv), as stored in the raw table.
PENGUINS_RAW_SOURCE_COLUMNS = {
    "studyName": "study_name",
    "Sample Number": "sample_number",
    "Species": "species",
    "Region": "region",
    "Island": "island",
    "Stage": "stage",
    "Individual ID": "individual_id",
    "Clutch Completion": "clutch_completion",
    "Date Egg": "date_egg",
    "Culmen Length (mm)": "culmen_length_mm",
    "Culmen Depth (mm)": "culmen_depth_mm",
    "Flipper Length (mm)": "flipper_length_mm",
    "Body Mass (g)": "body_mass_g",
    "Sex": "sex",
    "Delta 15 N (o/oo)": "delta_15_n",
    "Delta 13 C (o/oo)": "delta_13_c",
    "Comments": "comments",
}
PENGUINS_RAW_COLUMNS = list(PENGUINS_RAW_SOURCE_COLUMNS.values())

# data_api delivers rows of 13 values in this order.
COVERTYPE_RAW_COLUMNS = [*COVERTYPE.feature_names, COVERTYPE.target]


def as_text(value: Any) -> str | None:
    """Raw tables store values as delivered, as text; missing stays NULL."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_penguins_raw() -> pd.DataFrame:
    """The raw Palmer penguins data shipped in the palmerpenguins package."""
    from palmerpenguins import load_penguins_raw as load

    frame = load().rename(columns=PENGUINS_RAW_SOURCE_COLUMNS)[PENGUINS_RAW_COLUMNS]
    return frame.astype(object).map(as_text)


def penguins_to_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Map raw penguin columns onto the contract's (names and codings); values stay unvalidated."""
    species = raw["species"].astype("string").str.split().str[0]  # "Adelie Penguin (Pygoscelis adeliae)"
    sex = raw["sex"].astype("string").str.strip().str.lower()
    return pd.DataFrame(
        {
            "island": raw["island"],
            "bill_length_mm": raw["culmen_length_mm"],
            "bill_depth_mm": raw["culmen_depth_mm"],
            "flipper_length_mm": raw["flipper_length_mm"],
            "body_mass_g": raw["body_mass_g"],
            "sex": sex,
            PENGUINS.target: species,
        },
        index=raw.index,
    )


class DataExhausted(Exception):
    """data_api has delivered every batch to this group; `last_batch` is the group's last, when data_api says it."""

    def __init__(self, detail: str, last_batch: int | None = None) -> None:
        super().__init__(detail)
        self.last_batch = last_batch


@dataclass(frozen=True)
class CovertypeBatch:
    group_number: int
    batch_number: int
    frame: pd.DataFrame  # COVERTYPE_RAW_COLUMNS, values as text


def error_message(response: requests.Response) -> str:
    """The reason an error answer gives: data_api lists its problems, {"detail": [{"msg": ...}]};
    the course API it imitates sends {"detail": "..."}."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):
        detail = "; ".join(str(p["msg"]) for p in detail if isinstance(p, dict) and p.get("msg"))
    return detail if isinstance(detail, str) and detail else response.text


def fetch_covertype_batch(base_url: str, group_number: int, timeout: float = 60) -> CovertypeBatch:
    """One sample of the group's current batch from data_api."""
    response = requests.get(f"{base_url.rstrip('/')}/data", params={"group_number": group_number}, timeout=timeout)
    if response.status_code == 410:
        try:
            last = response.json().get("n_batches")
        except ValueError:
            last = None
        raise DataExhausted(error_message(response), last_batch=None if last is None else int(last))
    if not response.ok:
        # raise_for_status's message would leave out why: the log should say it.
        raise requests.HTTPError(f"{response.status_code} from data_api: {error_message(response)}", response=response)
    body = response.json()
    # data_api names its columns: a reordered or renamed column must stop ingestion,
    # not land values in the wrong fields. (The course API sends no names.)
    columns = body.get("columns")
    if columns is not None and list(columns) != list(COVERTYPE_RAW_COLUMNS):
        raise ValueError(f"data_api's columns {columns} are not the covertype contract's {list(COVERTYPE_RAW_COLUMNS)}")
    rows = body["data"]
    bad = [i for i, row in enumerate(rows) if len(row) != len(COVERTYPE_RAW_COLUMNS)]
    if bad:
        raise ValueError(f"data_api returned {len(bad)} rows without {len(COVERTYPE_RAW_COLUMNS)} values (first: row {bad[0]})")
    frame = pd.DataFrame(rows, columns=COVERTYPE_RAW_COLUMNS, dtype=object).map(as_text)
    return CovertypeBatch(group_number=int(body["group_number"]), batch_number=int(body["batch_number"]), frame=frame)
