"""ModelStore logic that needs no registry server."""

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
