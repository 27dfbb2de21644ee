"""ModelStore logic that needs no registry server."""

import threading
import time

import pytest

from inference.model_store import ALIAS_CACHE_SIZE, ModelStore
from inference.registry import ModelNotFound
from inference.settings import Settings

NAME = "penguins-classifier"


class RegistryWithoutAliases:
    def __init__(self):
        self.calls = 0

    def version_for(self, name, alias):
        self.calls += 1
        return None


def test_made_up_aliases_do_not_grow_the_alias_cache_without_bound():
    registry = RegistryWithoutAliases()
    store = ModelStore(Settings(models=NAME, refresh_seconds=60), registry)
    for i in range(ALIAS_CACHE_SIZE + 50):
        with pytest.raises(ModelNotFound, match=f"no version with alias 'made-up-{i}'"):
            store.choose(NAME, None, f"made-up-{i}")
    assert len(store._alias_cache) <= ALIAS_CACHE_SIZE
    # Within the refresh interval a repeated alias is answered from the cache.
    calls = registry.calls
    with pytest.raises(ModelNotFound):
        store.choose(NAME, None, f"made-up-{ALIAS_CACHE_SIZE + 49}")
    assert registry.calls == calls


class SlowRegistry:
    """Answers "no production version" once `release` is set."""

    def __init__(self, release: threading.Event):
        self.release = release

    def version_for(self, name, alias):
        self.release.wait(10)
        return None


def _app(registry, startup_load_seconds: float):
    from inference.main import create_app

    return create_app(Settings(models=NAME, prediction_log="off", startup_load_seconds=startup_load_seconds), registry)


def test_start_up_ends_after_the_first_model_load():
    # Behind the load balancer a (re)started replica must not take requests before it has its models.
    from fastapi.testclient import TestClient

    release = threading.Event()
    threading.Timer(0.5, release.set).start()
    with TestClient(_app(SlowRegistry(release), startup_load_seconds=30)) as client:
        assert release.is_set()
        assert client.get("/ready").json()["models"][NAME]["state"] == "no_production_version"


def test_start_up_does_not_wait_for_a_registry_that_hangs_longer_than_the_bound():
    from fastapi.testclient import TestClient

    release = threading.Event()
    started = time.monotonic()
    with TestClient(_app(SlowRegistry(release), startup_load_seconds=0.5)) as client:
        waited = time.monotonic() - started
        state = client.get("/ready").json()["models"][NAME]["state"]
        release.set()  # lets the hung first load end, so the app can stop
    assert state == "starting"
    assert 0.5 <= waited < 5
