"""The data a training run sees: a snapshot of the clean table, typed per the contract, split.

Ingestion keeps appending to the clean table while a DAG run trains, so a run
fixes its snapshot once (the highest row id) and every task reads exactly the
rows up to it, in id order.

The split is decided row by row from the row's fingerprint (splitting.SplitRule),
not drawn over the snapshot, so it is the same in every task and stable as data grows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from mlflow.data.dataset_source import DatasetSource
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.scoring import typed
from mlops_pipelines.splitting import HASH_METHOD, SplitRule, TrainedOn, unseen_by

__all__ = ["HASH_METHOD", "SplitRule", "TrainedOn", "unseen_by"]  # where training code finds them


class SqlTableSource(DatasetSource):
    """Where a snapshot came from, as MLflow records it with the run's dataset input."""

    def __init__(self, uri: str, table: str, max_id: int | None = None):
        self.uri, self.table, self.max_id = uri, table, max_id

    @staticmethod
    def _get_source_type() -> str:
        return "sql_table"

    def load(self, **kwargs):
        raise NotImplementedError("read the table with mlops_pipelines.training.data.read_snapshot")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> SqlTableSource:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "table": self.table, "max_id": self.max_id}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> SqlTableSource:
        return cls(source_dict["uri"], source_dict["table"], source_dict.get("max_id"))


@dataclass(frozen=True)
class Snapshot:
    contract: DatasetContract
    frame: pd.DataFrame  # the contract's features and target, contract-typed
    source: SqlTableSource
    # Each row's stable key (the clean table's fingerprint), aligned with frame: decides the split.
    keys: pd.Series = field(default_factory=lambda: pd.Series(dtype=str))
    # Each row's id in the clean table, aligned with frame (a frame from elsewhere: 1, 2, ...).
    ids: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def digest(self) -> str:
        """Content hash of every row (MLflow's own digest only looks at the first rows)."""
        hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


class SplitError(ValueError):
    """The snapshot cannot be split with these settings (too few rows for test_size); retrying will not help."""


@dataclass(frozen=True)
class Split:
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


def content_keys(frame: pd.DataFrame) -> pd.Series:
    """A stable key per row from its values, for frames that do not come from the clean table (benches, tests)."""
    return pd.Series([f"{h:016x}" for h in pd.util.hash_pandas_object(frame, index=False).to_numpy()], dtype=str)


def snapshot_from_frame(contract: DatasetContract, frame: pd.DataFrame, max_id: int | None = None) -> Snapshot:
    """A snapshot of `frame`; its `fingerprint` column (if any) keys the rows, else their values do."""
    typed_frame = typed(frame, contract)
    keys = frame["fingerprint"].astype(str).reset_index(drop=True) if "fingerprint" in frame else content_keys(typed_frame)
    ids = frame["id"].astype("int64").reset_index(drop=True) if "id" in frame else pd.Series(range(1, len(frame) + 1), dtype="int64")
    return Snapshot(contract, typed_frame, SqlTableSource(contract.clean_asset_uri, contract.clean_table, max_id), keys, ids)


def snapshot_max_id(engine: Engine, contract: DatasetContract) -> int | None:
    """The newest row of the clean table: the snapshot a DAG run trains on (None: no rows)."""
    from mlops_pipelines.tables import CLEAN

    with engine.connect() as conn:
        return conn.execute(select(func.max(CLEAN[contract.name].c.id))).scalar_one()


def read_snapshot(engine: Engine, contract: DatasetContract, max_id: int) -> Snapshot:
    """The clean rows with id <= max_id, in id order."""
    from mlops_pipelines.tables import CLEAN

    table = CLEAN[contract.name]
    columns = [table.c.id, table.c.fingerprint, *(table.c[name] for name in (*contract.feature_names, contract.target))]
    query = select(*columns).where(table.c.id <= max_id).order_by(table.c.id)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=[c.name for c in columns])
    return snapshot_from_frame(contract, frame, max_id)


def split(snapshot: Snapshot, test_size: float, random_state: int) -> Split:
    """Train/test split by each row's key (`SplitRule`): stable as the data grows, stratified only by chance.

    Raises SplitError when either part would hold fewer rows than the snapshot has classes.
    """
    contract, frame = snapshot.contract, snapshot.frame
    test = SplitRule(random_state, test_size).test_mask(snapshot.keys)
    classes = frame[contract.target].nunique()
    if min(int(test.sum()), int((~test).sum())) < classes:
        raise SplitError(
            f"cannot split {len(frame)} rows of {snapshot.source.table} with test_size={test_size}: "
            f"{int(test.sum())} test and {int((~test).sum())} training rows, fewer than the {classes} classes in one part"
        )
    X, y = frame[contract.feature_names], frame[contract.target]
    return Split(X[~test], X[test], y[~test], y[test])


def mlflow_dataset(snapshot: Snapshot, frame: pd.DataFrame | None = None, part: str | None = None):
    """The snapshot (or one part of it) as an MLflow dataset: source table, row count, digest."""
    import mlflow.data

    frame = snapshot.frame if frame is None else frame
    name = snapshot.contract.clean_table + (f"-{part}" if part else "")
    digest = snapshot.digest if part is None else Snapshot(snapshot.contract, frame, snapshot.source).digest
    # mlflow.data exposes from_pandas lazily, which mypy cannot see.
    return mlflow.data.from_pandas(frame, source=snapshot.source, targets=snapshot.contract.target, name=name, digest=digest)  # type: ignore[attr-defined]
