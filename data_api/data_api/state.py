"""Per-group progress, persisted as one JSON file so it survives a process restart."""

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .atomic import atomic_write_text

log = logging.getLogger(__name__)

STATE_FILE_NAME = "state.json"
STATE_VERSION = 1


@dataclass(frozen=True)
class GroupState:
    batch_number: int
    # Wall-clock epoch seconds (not monotonic time, which restarts with the process).
    batch_started_at: float


class StateStore:
    """Reads and atomically rewrites ``<state_dir>/state.json``.

    Callers serialise access (BatchScheduler holds a lock); the store itself only
    guarantees that the file on disk is always a complete JSON document.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / STATE_FILE_NAME

    def load(self) -> dict[int, GroupState]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                int(group): GroupState(
                    batch_number=int(entry["batch_number"]),
                    batch_started_at=float(entry["batch_started_at"]),
                )
                for group, entry in raw["groups"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # Keep the bad file for inspection rather than crash-looping the container.
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            self.path.replace(aside)
            log.error("state file %s unreadable (%s); moved to %s, starting fresh", self.path, exc, aside)
            return {}

    def save(self, groups: dict[int, GroupState]) -> None:
        doc = {
            "version": STATE_VERSION,
            "groups": {str(g): asdict(s) for g, s in sorted(groups.items())},
        }
        atomic_write_text(self.path, json.dumps(doc, indent=2) + "\n")
