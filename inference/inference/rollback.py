"""Put an alias back on the version it held before: `python -m inference.rollback MODEL [ALIAS]`.

scripts/rollback.sh runs it in the inference container with the registry's admin
login (MLFLOW_TRACKING_USERNAME/PASSWORD; inference's own login may move nothing).
"Before" is the alias history's (mlops_data.alias_moves): the version its last
move left. The rollback is appended to the history first, then the alias moved;
every replica sees the row and reloads at once, and MLflow's webhook confirms it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from inference.history import History
from inference.registry import Registry
from inference.settings import Settings


class RollbackRefused(Exception):
    """Nothing was changed (reason in the message)."""


@dataclass(frozen=True)
class RolledBack:
    model: str
    alias: str
    from_version: str
    to_version: str


def rollback(settings: Settings, history: History, registry: Registry, model: str, alias: str) -> RolledBack:
    last = history.latest(model, alias)
    if last is None or last.from_version is None:
        raise RollbackRefused(f"the history of {model} holds no earlier version of {alias!r} to go back to")
    current = registry.version_for(model, alias)
    if current != last.to_version:
        # The history has not caught up with the registry (or someone moved it by hand
        # while inference was away): going "back" from there could go anywhere.
        raise RollbackRefused(
            f"{alias!r} of {model} is on version {current} in the registry, but the history's last move took it to "
            f"{last.to_version}; wait a few seconds for inference to record the move, then try again"
        )
    target = last.from_version
    registry.client.get_model_version(model, target)  # still registered (raises otherwise)
    history.record(model, alias, target, "rollback")
    try:
        registry.client.set_registered_model_alias(model, alias, target)
    except Exception:
        # The alias did not move: the history says so too.
        history.record(model, alias, current, "rollback")
        raise
    return RolledBack(model, alias, str(current), target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rollback", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="registered model, e.g. penguins-classifier")
    parser.add_argument("alias", nargs="?", help="the alias to move back (default: INFERENCE_PRODUCTION_ALIAS, production)")
    args = parser.parse_args(argv)
    settings = Settings()
    history = History(settings)
    try:
        done = rollback(settings, history, Registry(settings), args.model, args.alias or settings.production_alias)
    except RollbackRefused as exc:
        print(f"rollback: nothing changed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"rollback: failed, nothing changed: {exc}", file=sys.stderr)
        return 1
    finally:
        history.dispose()
    print(f"rollback: {done.model} {done.alias!r} moved back from version {done.from_version} to {done.to_version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
