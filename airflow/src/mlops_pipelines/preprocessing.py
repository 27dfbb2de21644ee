"""Preprocessing: raw rows not seen before -> validated into the clean and rejected tables."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy.engine import Engine

from mlops_pipelines import storage
from mlops_pipelines.contracts import COVERTYPE, PENGUINS, DatasetContract
from mlops_pipelines.sources import penguins_to_features
from mlops_pipelines.validation import validate

# Each dataset's raw columns mapped onto its contract before validation.
TO_FEATURES: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    PENGUINS.name: penguins_to_features,
    COVERTYPE.name: lambda raw: raw[[*COVERTYPE.feature_names, COVERTYPE.target]],
}


def preprocess(engine: Engine, contract: DatasetContract) -> dict[str, int]:
    """Validate raw rows not seen before into the clean and rejected tables.

    Idempotent: a raw row is processed once (its fingerprint then sits in the
    clean or the rejected table), and everything happens in one transaction.
    """
    with engine.begin() as conn:
        rows = storage.pending_raw(conn, contract)
        features = TO_FEATURES[contract.name](rows)
        features.insert(0, "fingerprint", rows["fingerprint"])
        result = validate(features, contract)
        storage.insert_clean(conn, contract, result.clean)
        storage.insert_rejected(conn, contract, result.rejected, rows.set_index("fingerprint"))
    return {"processed": len(rows), **result.counts}
