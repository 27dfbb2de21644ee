"""The data a training run sees: a snapshot of the clean table, typed per the contract, split.

Ingestion keeps appending to the clean table while a DAG run trains, so a run
fixes its snapshot once (the highest row id) and every task reads exactly the
rows up to it, in id order: the seeded split is then the same in every task.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd
from mlflow.data.dataset_source import DatasetSource
from sklearn.model_selection import train_test_split
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.scoring import typed


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


def snapshot_from_frame(contract: DatasetContract, frame: pd.DataFrame, max_id: int | None = None) -> Snapshot:
    return Snapshot(contract, typed(frame, contract), SqlTableSource(contract.clean_asset_uri, contract.clean_table, max_id))


def snapshot_max_id(engine: Engine, contract: DatasetContract) -> int | None:
    """The newest row of the clean table: the snapshot a DAG run trains on (None: no rows)."""
    from mlops_pipelines.tables import CLEAN

    with engine.connect() as conn:
        return conn.execute(select(func.max(CLEAN[contract.name].c.id))).scalar_one()


def read_snapshot(engine: Engine, contract: DatasetContract, max_id: int) -> Snapshot:
    """The clean rows with id <= max_id, in id order."""
    from mlops_pipelines.tables import CLEAN

    table = CLEAN[contract.name]
    columns = [table.c[name] for name in (*contract.feature_names, contract.target)]
    query = select(*columns).where(table.c.id <= max_id).order_by(table.c.id)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=[c.name for c in columns])
    return snapshot_from_frame(contract, frame, max_id)


def split(snapshot: Snapshot, test_size: float, random_state: int) -> Split:
    """Stratified, seeded train/test split.

    A class with a single row cannot be in both parts: its rows go to training
    (the model may still learn it; the test scores just cannot measure it).
    """
    contract, frame = snapshot.contract, snapshot.frame
    y = frame[contract.target]
    counts = y.value_counts()
    single = y.isin(counts[counts < 2].index)
    try:
        train_index, test_index = train_test_split(
            frame.index[~single],
            test_size=test_size,
            random_state=random_state,
            stratify=y[~single],
        )
    except ValueError as exc:
        raise SplitError(f"cannot split {len(frame)} rows of {snapshot.source.table} with test_size={test_size}: {exc}") from exc
    train_index = train_index.append(frame.index[single])
    X = frame[contract.feature_names]
    return Split(X.loc[train_index], X.loc[test_index], y.loc[train_index], y.loc[test_index])


def mlflow_dataset(snapshot: Snapshot, frame: pd.DataFrame | None = None, part: str | None = None):
    """The snapshot (or one part of it) as an MLflow dataset: source table, row count, digest."""
    import mlflow.data

    frame = snapshot.frame if frame is None else frame
    name = snapshot.contract.clean_table + (f"-{part}" if part else "")
    digest = snapshot.digest if part is None else Snapshot(snapshot.contract, frame, snapshot.source).digest
    # mlflow.data exposes from_pandas lazily, which mypy cannot see.
    return mlflow.data.from_pandas(frame, source=snapshot.source, targets=snapshot.contract.target, name=name, digest=digest)  # type: ignore[attr-defined]
