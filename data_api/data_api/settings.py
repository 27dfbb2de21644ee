"""Service settings, read from DATA_API_* environment variables."""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .batches import ORDERS, Advance, Order


def _per_group(setting: str, value: object, parse: Callable[[str], Any], expected: str) -> object:
    """A "<group>=<value>,..." variable as {group: value}; `parse` gives None for a value it refuses."""
    if not isinstance(value, str):
        return value
    parsed: dict[int, Any] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        group, sep, raw = item.partition("=")
        got = parse(raw.strip()) if sep and group.strip().isdigit() else None
        if got is None:
            raise ValueError(f"{setting}: {item!r} is not {expected}")
        parsed[int(group)] = got
    return parsed


def _positive_seconds(raw: str) -> float | None:
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATA_API_", extra="ignore")

    # 13-column CSV(.gz); if missing, the data is downloaded and cached in state_dir.
    data_path: Path = Path("/data/covertype.csv.gz")
    # Holds the per-group state file and the downloaded-data cache (a docker volume).
    state_dir: Path = Path("/var/lib/data_api")
    # numpy seeds must be non-negative.
    seed: int = Field(default=42, ge=0)
    n_batches: int = Field(default=10, gt=0)
    n_groups: int = Field(default=10, gt=0)
    batch_interval_seconds: float = Field(default=300.0, gt=0)
    sample_fraction: float = Field(default=0.1, gt=0, le=1)
    # per_call: one batch per call once the interval has passed (the course API);
    # clock: batches move on a fixed clock and unfetched ones are skipped.
    advance: Advance = "per_call"
    # Which rows each batch holds: shuffled (every batch like the whole data) or
    # elevation (batches in ascending Elevation order: a drifting source).
    order: Order = "shuffled"
    # Per-group exceptions to `order`, e.g. "9=elevation,10=shuffled" (the e2e
    # tier serves one group in elevation order and the others shuffled).
    # NoDecode: the variable is "<group>=<order>,...", not JSON.
    order_groups: Annotated[dict[int, Order], NoDecode] = Field(default_factory=dict)
    # Per-group exceptions to `batch_interval_seconds`, e.g. "4=1" (the e2e tier
    # runs one group through all its batches in seconds to meet the end of the data).
    interval_groups: Annotated[dict[int, float], NoDecode] = Field(default_factory=dict)

    @field_validator("order_groups", mode="before")
    @classmethod
    def _parse_order_groups(cls, value: object) -> object:
        return _per_group(
            "order_groups", value, lambda v: v if v in ORDERS else None, f"<group>=<order> with order one of {', '.join(ORDERS)}"
        )

    @field_validator("interval_groups", mode="before")
    @classmethod
    def _parse_interval_groups(cls, value: object) -> object:
        return _per_group("interval_groups", value, _positive_seconds, "<group>=<seconds> with seconds > 0")

    def group_order(self, group_number: int) -> Order:
        return self.order_groups.get(group_number, self.order)

    def group_interval(self, group_number: int) -> float:
        return self.interval_groups.get(group_number, self.batch_interval_seconds)
