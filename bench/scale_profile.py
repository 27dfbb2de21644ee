"""`docker compose` on the running scale-out profile, for the benchmarks that drive it.

The files are Compose's own COMPOSE_FILE when set, else both of the profile's;
the project is COMPOSE_PROJECT_NAME (or Compose's default), as for `docker compose`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = os.environ.get("COMPOSE_FILE") or f"{ROOT / 'docker-compose.yaml'}:{ROOT / 'docker-compose.scale.yaml'}"


def compose(*args: str, env: dict | None = None, timeout: float = 1200) -> str:
    """Run `docker compose ARGS` on the profile (extra `env` on top of this process's); its stdout."""
    environment = {**os.environ, **(env or {}), "COMPOSE_FILE": FILES}
    return subprocess.run(["docker", "compose", *args], capture_output=True, text=True, check=True, timeout=timeout, env=environment).stdout
