"""The Covertype data: column contract, loading, and download + conversion from UCI.

The served format has 13 columns (see /work/shared/data/README.md): 10 integer
measurements, the wilderness area name, the soil type as "C" + USFS ELU code,
and Cover_Type 1..7.
"""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .atomic import atomic_write

log = logging.getLogger(__name__)

NUMERIC_COLUMNS: tuple[str, ...] = (
    "Elevation",
    "Aspect",
    "Slope",
    "Horizontal_Distance_To_Hydrology",
    "Vertical_Distance_To_Hydrology",
    "Horizontal_Distance_To_Roadways",
    "Hillshade_9am",
    "Hillshade_Noon",
    "Hillshade_3pm",
    "Horizontal_Distance_To_Fire_Points",
)
CATEGORICAL_COLUMNS: tuple[str, ...] = ("Wilderness_Area", "Soil_Type")
TARGET_COLUMN = "Cover_Type"
COLUMNS: tuple[str, ...] = NUMERIC_COLUMNS + CATEGORICAL_COLUMNS + (TARGET_COLUMN,)

# UCI order of Wilderness_Area1..4.
WILDERNESS_AREAS: tuple[str, ...] = ("Rawah", "Neota", "Comanche", "Cache")
# UCI order of Soil_Type1..40 (covtype.info), as "C" + USFS ELU code.
SOIL_TYPES: tuple[str, ...] = tuple(
    "C" + code
    for code in (
        "2702 2703 2704 2705 2706 2717 3501 3502 4201 4703 "
        "4704 4744 4758 5101 5151 6101 6102 6731 7101 7102 "
        "7103 7201 7202 7700 7701 7702 7709 7710 7745 7746 "
        "7755 7756 7757 7790 8703 8707 8708 8771 8772 8776"
    ).split()
)
COVER_TYPES: tuple[int, ...] = tuple(range(1, 8))

# Name of the converted download inside the state dir.
CACHE_FILE_NAME = "covertype.csv.gz"
# Where scikit-learn keeps its own download, inside the state dir.
SKLEARN_DATA_HOME = "sklearn_data"


class DatasetError(RuntimeError):
    """The data file is missing, malformed or breaks the column contract."""


class DataUnavailable(DatasetError):
    """No data file, no cached copy, and the download failed (an offline machine): the service
    starts anyway and says what is missing instead of exiting (a restart would fail the same way)."""


def _download_address() -> str:
    try:
        from sklearn.datasets._covtype import ARCHIVE  # where fetch_covtype downloads from

        return str(ARCHIVE.url)
    except (ImportError, AttributeError):
        return "the UCI Covertype archive (scikit-learn's fetch_covtype)"


def read_covertype_csv(path: Path) -> pd.DataFrame:
    """Read a 13-column Covertype CSV (gzip or plain) and check it against the contract."""
    path = Path(path)
    try:
        header = list(pd.read_csv(path, nrows=0).columns)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    if header != list(COLUMNS):
        raise DatasetError(f"{path}: header {header} does not match expected {list(COLUMNS)}")
    dtypes: dict[str, Any] = {c: "int64" for c in NUMERIC_COLUMNS + (TARGET_COLUMN,)}
    dtypes.update({c: object for c in CATEGORICAL_COLUMNS})
    try:
        # na_filter=False: the file has no missing values, and it keeps strings as strings.
        df = pd.read_csv(path, dtype=dtypes, na_filter=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot parse as the 13-column Covertype format: {exc}") from exc
    validate_frame(df, source=str(path))
    return df


def validate_frame(df: pd.DataFrame, source: str = "data") -> None:
    """Fail fast on a frame that would serve wrong values."""
    if list(df.columns) != list(COLUMNS):
        raise DatasetError(f"{source}: columns {list(df.columns)} != {list(COLUMNS)}")
    if len(df) == 0:
        raise DatasetError(f"{source}: no data rows")
    checks: dict[str, set[Any]] = {
        "Wilderness_Area": set(WILDERNESS_AREAS),
        "Soil_Type": set(SOIL_TYPES),
        TARGET_COLUMN: set(COVER_TYPES),
    }
    for column, allowed in checks.items():
        bad = sorted(set(df[column].unique()) - allowed, key=str)
        if bad:
            raise DatasetError(f"{source}: unexpected {column} values {bad[:5]}")


def convert_uci(features: Any, target: Any) -> pd.DataFrame:
    """Convert the 54-feature UCI layout (10 numeric, 4 wilderness one-hot, 40 soil
    one-hot) plus the 1..7 target into the 13-column served format."""
    x = np.asarray(features)
    y = np.asarray(target).ravel()
    if x.ndim != 2 or x.shape[1] != 54:
        raise DatasetError(f"expected a (n, 54) feature array, got shape {x.shape}")
    if len(y) != len(x):
        raise DatasetError(f"{len(x)} feature rows but {len(y)} targets")

    numeric = x[:, :10]
    if not np.array_equal(numeric, np.round(numeric)):
        raise DatasetError("numeric UCI columns hold non-integer values")
    wilderness = x[:, 10:14]
    soil = x[:, 14:54]
    for name, block in (("wilderness", wilderness), ("soil", soil)):
        # Exactly one flag per row, else argmax below would silently pick a wrong name.
        if not (np.isin(block, (0, 1)).all() and (block.sum(axis=1) == 1).all()):
            raise DatasetError(f"{name} columns are not one-hot (exactly one 1 per row)")
    if not np.isin(y, COVER_TYPES).all():
        raise DatasetError("Cover_Type values outside 1..7")

    data: dict[str, Any] = {name: numeric[:, i].astype(np.int64) for i, name in enumerate(NUMERIC_COLUMNS)}
    data["Wilderness_Area"] = np.array(WILDERNESS_AREAS, dtype=object)[wilderness.argmax(axis=1)]
    data["Soil_Type"] = np.array(SOIL_TYPES, dtype=object)[soil.argmax(axis=1)]
    data[TARGET_COLUMN] = y.astype(np.int64)
    return pd.DataFrame(data, columns=list(COLUMNS))


def _fetch_covtype(**kwargs: Any) -> Any:
    # Imported lazily: scikit-learn is slow to import and only needed for the download.
    from sklearn.datasets import fetch_covtype

    return fetch_covtype(**kwargs)


def download_and_cache(state_dir: Path, fetch: Callable[..., Any] | None = None) -> Path:
    """Download the UCI data with scikit-learn, convert it, and cache it as CSV.gz.

    ``fetch`` defaults to ``sklearn.datasets.fetch_covtype``; tests pass a fake.
    """
    state_dir = Path(state_dir)
    cache = state_dir / CACHE_FILE_NAME
    fetch = fetch or _fetch_covtype
    log.info("downloading Covertype with scikit-learn into %s", state_dir / SKLEARN_DATA_HOME)
    bunch = fetch(data_home=str(state_dir / SKLEARN_DATA_HOME), download_if_missing=True)
    df = convert_uci(bunch.data, bunch.target)
    atomic_write(cache, lambda tmp: df.to_csv(tmp, index=False, compression="gzip"))
    log.info("cached %d converted rows at %s", len(df), cache)
    return cache


def load_dataset(data_path: Path, state_dir: Path, fetch: Callable[..., Any] | None = None) -> pd.DataFrame:
    """Load the configured file, else the cached download, else download once."""
    data_path, state_dir = Path(data_path), Path(state_dir)
    if data_path.is_file():
        return read_covertype_csv(data_path)
    cache = state_dir / CACHE_FILE_NAME
    if cache.is_file():
        log.info("%s not found; using cached download %s", data_path, cache)
        return read_covertype_csv(cache)
    log.warning("%s not found and no cached copy; downloading", data_path)
    try:
        downloaded = download_and_cache(state_dir, fetch=fetch)
    except OSError as exc:  # urllib's URLError and socket errors included: no network
        raise DataUnavailable(
            f"no Covertype data: {data_path} does not exist (set DATA_API_DATA_PATH to the 13-column file, or mount "
            f"its folder as COVERTYPE_DATA_DIR in the compose file), there is no cached copy at {cache}, and the "
            f"download from {_download_address()} failed: {exc}"
        ) from exc
    return read_covertype_csv(downloaded)
