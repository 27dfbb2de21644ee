"""Service settings, read from DATA_API_* environment variables."""

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .batches import ORDERS, Advance, Order


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

    @field_validator("order_groups", mode="before")
    @classmethod
    def _parse_order_groups(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        parsed: dict[int, str] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            group, sep, order = item.partition("=")
            if not sep or not group.strip().isdigit() or order.strip() not in ORDERS:
                raise ValueError(f"order_groups: {item!r} is not <group>=<order> with order one of {', '.join(ORDERS)}")
            parsed[int(group)] = order.strip()
        return parsed

    def group_order(self, group_number: int) -> Order:
        return self.order_groups.get(group_number, self.order)
