"""Service settings, read from DATA_API_* environment variables."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .batches import Advance


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
