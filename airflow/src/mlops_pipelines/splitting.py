"""The stable evaluation split, and which rows a registered version trained on.

A row is a test row when its fingerprint hashed with the seed falls below the
test fraction (`SplitRule`): its membership never changes as data grows, so a
row in any version's test split never enters a later version's training split
(same seed, a fraction that does not shrink). A version records its snapshot
bound and its rule as tags (`TrainedOn`), so the rows neither of two versions
trained on can be computed for any two versions (`unseen_by`). Training splits
with it; monitoring leaves out what a scored version trained on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from mlops_pipelines.mlflow_names import DATA_SNAPSHOT_MAX_ID, SPLIT_METHOD, SPLIT_SEED, SPLIT_TEST_FRACTION

# How a row's test membership is decided: sha256 of "<seed>:<fingerprint>", its first
# 8 bytes as a fraction of 2**64, below the test fraction. Recorded on each version.
HASH_METHOD = "sha256-fingerprint"


@dataclass(frozen=True)
class SplitRule:
    seed: int
    fraction: float
    method: str = HASH_METHOD

    def test_mask(self, keys: Iterable[str]) -> np.ndarray:
        """True for each key whose row is a test row under this rule."""
        if self.method != HASH_METHOD:
            raise ValueError(f"unknown split method {self.method!r}")
        prefix = f"{self.seed}:".encode()
        position = [int.from_bytes(hashlib.sha256(prefix + str(k).encode()).digest()[:8], "big") / 2.0**64 for k in keys]
        return np.asarray(position, dtype=float) < self.fraction

    def tags(self) -> dict[str, str]:
        return {SPLIT_METHOD: self.method, SPLIT_SEED: str(self.seed), SPLIT_TEST_FRACTION: repr(float(self.fraction))}


@dataclass(frozen=True)
class TrainedOn:
    """What a version trained on: the clean rows up to its snapshot bound that its rule does not make test rows."""

    snapshot_max_id: int
    rule: SplitRule

    def tags(self) -> dict[str, str]:
        return {DATA_SNAPSHOT_MAX_ID: str(self.snapshot_max_id), **self.rule.tags()}

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> TrainedOn | None:
        """From a version's tags; None for a version registered without its split rule (unknown training rows)."""
        try:
            rule = SplitRule(int(tags[SPLIT_SEED]), float(tags[SPLIT_TEST_FRACTION]), tags[SPLIT_METHOD])
            return cls(int(float(tags[DATA_SNAPSHOT_MAX_ID])), rule)
        except (KeyError, ValueError):
            return None

    def trained(self, ids: Iterable[int], keys: Iterable[str]) -> np.ndarray:
        """True for each row (clean id, fingerprint) this version trained on."""
        ids = np.asarray(list(ids), dtype=np.int64)
        return (ids <= self.snapshot_max_id) & ~self.rule.test_mask(keys)


def unseen_by(ids: Iterable[int], keys: Iterable[str], versions: Iterable[TrainedOn]) -> np.ndarray:
    """True for each row (clean id, fingerprint) that none of `versions` trained on."""
    ids, keys = list(ids), list(keys)
    mask = np.ones(len(ids), dtype=bool)
    for version in versions:
        mask &= ~version.trained(ids, keys)
    return mask
