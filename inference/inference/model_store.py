"""The models being served: production ones kept current, others loaded on demand."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from inference.history import History, MovePath
from inference.registry import LoadedModel, ModelNotFound, Registry
from inference.settings import Settings

log = logging.getLogger(__name__)

ALIAS_CACHE_SIZE = 256


def settle_heap() -> None:
    """Collect, then exempt what survives from later collections (gc.freeze).

    A loaded model is hundreds of thousands of objects (a 50-tree forest and its compiled
    path) that live as long as it serves; each full collection walked them all, a pause of
    0.1-0.3 s on the event loop every few seconds under load, which made the p99 of a
    one-row prediction a hundred times its p50. Called after a production or challenger
    version is put in place (start-up included): one collection then, none of them later.
    A frozen object dropped later is still freed by its reference count; only reference
    cycles among such objects stay.
    """
    gc.collect()
    gc.freeze()


class NotServing(Exception):
    """No version of this model can answer now (reason in the message)."""


class ModelStore:
    def __init__(self, settings: Settings, registry: Registry, history: History | None = None):
        self.settings = settings
        self.registry = registry
        # Where alias moves are recorded (None: not recorded).
        self.history = history
        # One check of a model at a time: the poll, a webhook and another replica's nudge may coincide.
        self._refresh_locks = {name: threading.Lock() for name in settings.model_names}
        # name -> the production version serving now. Replaced whole, never
        # mutated, so a request sees either the old or the new model.
        self.production: dict[str, LoadedModel] = {}
        # name -> the challenger version loaded beside production (settings.shadow on), when
        # the challenger alias names a version other than production's. Replaced whole too.
        self.challenger: dict[str, LoadedModel] = {}
        # name -> the challenger version that failed to load: its failure is logged once.
        self._challenger_failed: dict[str, str] = {}
        self.status: dict[str, dict[str, Any]] = {
            name: {"state": "starting", "detail": "not checked yet", "checked_at": None} for name in settings.model_names
        }
        self._others: OrderedDict[tuple[str, str], LoadedModel] = OrderedDict()
        self._others_lock = threading.Lock()
        self._alias_cache: dict[tuple[str, str], tuple[float, str | None]] = {}

    # --- production -------------------------------------------------------
    def refresh(self) -> None:
        """Load any production version that moved. Blocking: run it off the event loop."""
        for name in self.settings.model_names:
            self.refresh_model(name)

    def refresh_model(self, name: str, path: MovePath = "poll") -> None:
        """Ask the registry where production is now and load it if it moved; `path` names how a move was learned."""
        with self._refresh_locks[name]:
            self._refresh_one(name, path)

    def forget_alias(self, name: str, alias: str) -> None:
        """The alias moved: the next request naming it asks the registry again."""
        self._alias_cache.pop((name, alias), None)

    def _record(self, name: str, version: str | None, path: MovePath, previous: str | None) -> None:
        if self.history is None:
            return
        try:
            self.history.record(name, self.settings.production_alias, version, path, from_version=previous)
        except Exception as exc:  # MySQL away: serving goes on, the move is not recorded
            log.warning("%s: could not record the move to version %s in the history: %s", name, version, exc)

    def _refresh_one(self, name: str, path: MovePath = "poll") -> None:
        self._refresh_production(name, path)
        if self.settings.shadow == "on":
            self._refresh_challenger(name)

    def _refresh_production(self, name: str, path: MovePath) -> None:
        current = self.production.get(name)
        serving = f"; still serving version {current.version}" if current else ""
        try:
            version = self.registry.version_for(name, self.settings.production_alias)
        except Exception as exc:  # registry down or misbehaving: keep what we have
            self._set_status(name, "registry_unreachable", f"cannot ask the MLflow registry: {exc}{serving}")
            return
        if version is None:
            self._set_status(
                name, "no_production_version", f"no version of {name} has the alias '{self.settings.production_alias}' yet{serving}"
            )
            return
        if current is not None and current.version == version:
            self._set_status(name, "ready", f"serving version {version}")
            return
        # Recorded unless the history already has it (a webhook, another replica, a rollback).
        self._record(name, version, path, current.version if current else None)
        log.info("%s: production is now version %s, loading it", name, version)
        started = time.perf_counter()
        try:
            # A version loaded already (the production before a rollback, one asked for by
            # ?version=) is served at once, with no download.
            loaded = self._take_other(name, version) or self._challenger_at(name, version) or self.registry.load(name, version)
        except Exception as exc:
            log.exception("%s: version %s failed to load%s", name, version, serving)
            self._set_status(name, "load_failed", f"version {version} failed to load: {exc}{serving}")
            return
        self.production = {**self.production, name: loaded}
        if current is not None:
            # Kept loaded: going back to it (a rollback) needs no download.
            self._keep_other(current)
        settle_heap()
        log.info(
            "%s: now serving version %s (loaded in %.1fs, %s path)",
            name,
            version,
            time.perf_counter() - started,
            "compiled" if loaded.compiled else "pipeline",
        )
        self._set_status(name, "ready", f"serving version {version}")

    def _challenger_at(self, name: str, version: str) -> LoadedModel | None:
        # A challenger promoted: the copy held for shadow scoring serves, even if the cache let it go.
        challenger = self.challenger.get(name)
        return challenger if challenger is not None and challenger.version == version else None

    def _refresh_challenger(self, name: str) -> None:
        """Load the version the challenger alias names, if not production's; never touches production."""
        current = self.challenger.get(name)
        try:
            version = self.registry.version_for(name, self.settings.challenger_alias)
        except Exception as exc:  # the registry away: production's status says so; keep what we have
            log.debug("%s: cannot ask the registry for the challenger: %s", name, exc)
            return
        production = self.production.get(name)
        if version is None or (production is not None and production.version == version):
            if current is not None:
                log.info("%s: no challenger to score in shadow any more (version %s left it)", name, current.version)
                self._drop_challenger(name)
            self._challenger_failed.pop(name, None)
            return
        if current is not None and current.version == version:
            return
        try:
            # Through the cache of other versions: one preloaded by a webhook is not downloaded again.
            loaded = self.choose(name, version, None)
        except Exception as exc:  # tried again at the next check, logged once
            if self._challenger_failed.get(name) != version:
                self._challenger_failed[name] = version
                log.warning("%s: challenger version %s failed to load; production serves on, unscored in shadow: %s", name, version, exc)
            self._drop_challenger(name)
            return
        self._challenger_failed.pop(name, None)
        self.challenger = {**self.challenger, name: loaded}
        settle_heap()
        log.info("%s: challenger version %s loaded; scoring it in shadow on production's traffic", name, version)

    def _drop_challenger(self, name: str) -> None:
        # Replaced whole, as production is: the shadow worker may be reading the old dict.
        self.challenger = {k: v for k, v in self.challenger.items() if k != name}

    def _set_status(self, name: str, state: str, detail: str) -> None:
        if state != "ready" and self.status.get(name, {}).get("detail") != detail:
            log.warning("%s: %s", name, detail)
        self.status[name] = {"state": state, "detail": detail, "checked_at": time.time()}

    async def keep_current(self, tried: asyncio.Event | None = None) -> None:
        """Background task: poll the registry every refresh interval; `tried` is set after the first pass."""
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # never let the refresher die
                log.exception("refresh failed")
            if tried is not None:
                tried.set()
            await asyncio.sleep(self.settings.refresh_seconds)

    # --- lookup -------------------------------------------------------------
    def _check_served(self, name: str) -> None:
        if name not in self.settings.model_names:
            raise ModelNotFound(f"model {name!r} is not served here; served: {', '.join(self.settings.model_names)}")

    def serving(self, name: str) -> LoadedModel:
        self._check_served(name)
        model = self.production.get(name)
        if model is None:
            raise NotServing(self.status[name]["detail"])
        return model

    def _resolve_alias(self, name: str, alias: str) -> str:
        now = time.monotonic()
        cached = self._alias_cache.get((name, alias))
        if cached and now - cached[0] < self.settings.refresh_seconds:
            version = cached[1]
        else:
            version = self.registry.version_for(name, alias)
            # Callers choose alias names freely: keep the cache bounded.
            if len(self._alias_cache) >= ALIAS_CACHE_SIZE:
                self._alias_cache.clear()
            self._alias_cache[(name, alias)] = (now, version)
        if version is None:
            raise ModelNotFound(f"model {name!r} has no version with alias {alias!r}")
        return version

    def choose(self, name: str, version: str | None, alias: str | None) -> LoadedModel:
        """The model that answers a request: production, or the version/alias asked for.

        Blocking on a first use of another version (it is downloaded then kept
        in a bounded cache): call it off the event loop.
        """
        if version is None and alias is None:
            return self.serving(name)
        self._check_served(name)
        if version is None:
            assert alias is not None  # one of the two, by the check above
            version = self._resolve_alias(name, alias)
        production = self.production.get(name)
        if production is not None and production.version == version:
            return production
        key = (name, version)
        with self._others_lock:
            if key in self._others:
                self._others.move_to_end(key)
                return self._others[key]
        loaded = self.registry.load(name, version)
        self._keep_other(loaded)
        return loaded

    def _keep_other(self, model: LoadedModel) -> None:
        with self._others_lock:
            self._others[(model.name, model.version)] = model
            self._others.move_to_end((model.name, model.version))
            while len(self._others) > self.settings.cache_size:
                evicted, _ = self._others.popitem(last=False)
                log.info("unloaded %s version %s (cache holds %d)", *evicted, self.settings.cache_size)

    def _take_other(self, name: str, version: str) -> LoadedModel | None:
        with self._others_lock:
            return self._others.pop((name, version), None)

    def preload(self, name: str, version: str) -> None:
        """Load a newly registered version into the cache of others, so that promoting it is a swap."""
        try:
            self.choose(name, version, None)
            log.info("%s: version %s loaded ahead of a promotion", name, version)
        except Exception as exc:  # a version that cannot load now loads (or fails) when promoted
            log.warning("%s: version %s could not be loaded ahead: %s", name, version, exc)

    def loaded_versions(self, name: str) -> list[str]:
        with self._others_lock:
            others = [v for (n, v) in self._others if n == name]
        production = self.production.get(name)
        return ([production.version] if production else []) + others
