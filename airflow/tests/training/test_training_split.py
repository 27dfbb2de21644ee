"""The stable evaluation split: a row's test membership depends on its key alone, and the rows
neither of two versions trained on follow from what each recorded."""

import hashlib

import numpy as np
import pandas as pd
import pytest
from training_helpers import covertype_frame

from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.training.data import SplitRule, TrainedOn, snapshot_from_frame, split, unseen_by


def keyed(rows: int) -> pd.DataFrame:
    """Covertype rows as the clean table holds them: id and fingerprint beside the values."""
    frame = covertype_frame(rows)
    frame.insert(0, "fingerprint", [hashlib.sha256(str(i).encode()).hexdigest() for i in range(rows)])
    frame.insert(0, "id", range(1, rows + 1))
    return frame


def test_the_rule_is_the_documented_hash():
    rule = SplitRule(42, 0.2)
    key = "ab" * 32
    position = int.from_bytes(hashlib.sha256(f"42:{key}".encode()).digest()[:8], "big") / 2**64
    assert rule.test_mask([key])[0] == (position < 0.2)
    assert SplitRule(42, 1.0).test_mask([key])[0] and not SplitRule(42, 0.0).test_mask([key])[0]


def test_a_row_s_test_membership_never_changes_as_data_grows():
    full = keyed(400)
    memberships = {}
    for rows in (150, 250, 400):
        snapshot = snapshot_from_frame(COVERTYPE, full.iloc[:rows], max_id=rows)
        parts = split(snapshot, 0.2, 42)
        test_keys = set(snapshot.keys[parts.X_test.index])
        for key in snapshot.keys:
            memberships.setdefault(key, set()).add(key in test_keys)
    assert all(len(seen) == 1 for seen in memberships.values())  # never test in one snapshot and training in another
    # The rows are not re-drawn: the same keys in another order split the same way.
    shuffled = snapshot_from_frame(COVERTYPE, full.sample(frac=1, random_state=0), max_id=400)
    parts = split(shuffled, 0.2, 42)
    assert set(shuffled.keys[parts.X_test.index]) == {k for k, seen in memberships.items() if seen == {True}}


def test_a_version_records_its_bound_and_rule_as_tags():
    trained_on = TrainedOn(1234, SplitRule(42, 0.2))
    tags = trained_on.tags()
    assert tags == {"data.snapshot_max_id": "1234", "split.method": "sha256-fingerprint", "split.seed": "42", "split.test_fraction": "0.2"}
    assert TrainedOn.from_tags(tags) == trained_on
    assert TrainedOn.from_tags({"data.snapshot_max_id": "1234"}) is None  # registered before the rule was recorded


def test_rows_neither_version_trained_on():
    frame = keyed(600)
    ids, keys = frame["id"], frame["fingerprint"]
    old, new = TrainedOn(200, SplitRule(42, 0.2)), TrainedOn(450, SplitRule(7, 0.3))
    unseen = unseen_by(ids, keys, [old, new])
    old_test, new_test = SplitRule(42, 0.2).test_mask(keys), SplitRule(7, 0.3).test_mask(keys)
    for i, (row_id, is_unseen) in enumerate(zip(ids, unseen, strict=True)):
        trained_by_old = row_id <= 200 and not old_test[i]
        trained_by_new = row_id <= 450 and not new_test[i]
        assert is_unseen == (not trained_by_old and not trained_by_new)
    assert unseen[ids > 450].all()  # newer than both snapshots
    # Same rule: below both bounds exactly the test rows are unseen.
    same = unseen_by(ids, keys, [TrainedOn(200, SplitRule(42, 0.2)), TrainedOn(450, SplitRule(42, 0.2))])
    assert np.array_equal(same[ids <= 450], old_test[ids <= 450])


def test_an_unknown_split_method_is_refused():
    with pytest.raises(ValueError, match="unknown split method"):
        SplitRule(1, 0.2, "random").test_mask(["a"])
