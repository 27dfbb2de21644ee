"""What the monitor needs to know about a registered version: its baseline scores and its training rows.

A version's run logs test_accuracy / test_f1_macro and register_best copies
them onto the version as tags; the training snapshot is the clean table's rows
with id <= `data.snapshot_max_id` (a version tag, or on older versions a param
of their DAG run's parent run) that its split rule (`split.*` tags) does not make
test rows; a version without the rule counts every row up to its bound as trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow.entities.model_registry import ModelVersion

from mlflow import MlflowClient
from mlops_pipelines.mlflow_helpers import challenger_version, latest_version, production_version
from mlops_pipelines.mlflow_names import DATA_ROWS, DATA_SNAPSHOT_MAX_ID, TAG_PARENT, test_metric
from mlops_pipelines.splitting import SplitRule, TrainedOn

TEST_ACCURACY, TEST_F1_MACRO = test_metric("accuracy"), test_metric("f1_macro")


@dataclass(frozen=True)
class ServedVersion:
    name: str
    version: str
    run_id: str
    created_at: datetime  # naive UTC, like the monitoring tables
    baseline_accuracy: float | None
    baseline_f1_macro: float | None
    snapshot_max_id: int | None
    training_rows: int | None
    trained_on: TrainedOn | None = None  # None: not even the snapshot bound is known

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def _float(value) -> float | None:
    try:
        return None if value in (None, "", "None") else float(value)
    except ValueError:
        return None


def created_at(version: ModelVersion) -> datetime:
    return datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).replace(tzinfo=None)


def describe(client: MlflowClient, version: ModelVersion) -> ServedVersion:
    tags = version.tags or {}
    metrics: dict[str, float] = {}
    params: dict[str, str] = {}
    if version.run_id and (TEST_ACCURACY not in tags or DATA_SNAPSHOT_MAX_ID not in tags):
        run = client.get_run(version.run_id)
        metrics = dict(run.data.metrics)
        parent = run.data.tags.get(TAG_PARENT)
        if parent and DATA_SNAPSHOT_MAX_ID not in tags:
            params = dict(client.get_run(parent).data.params)
    accuracy = _float(tags.get(TEST_ACCURACY, metrics.get(TEST_ACCURACY)))
    f1 = _float(tags.get(TEST_F1_MACRO, metrics.get(TEST_F1_MACRO)))
    snapshot = _float(tags.get(DATA_SNAPSHOT_MAX_ID, params.get(DATA_SNAPSHOT_MAX_ID)))
    rows = _float(tags.get(DATA_ROWS, params.get(DATA_ROWS)))
    trained_on = TrainedOn.from_tags(tags)
    if trained_on is None and snapshot is not None:  # no split rule recorded: every row up to the bound
        trained_on = TrainedOn(int(snapshot), SplitRule(0, 0.0))
    return ServedVersion(
        version.name,
        str(version.version),
        version.run_id or "",
        created_at(version),
        accuracy,
        f1,
        None if snapshot is None else int(snapshot),
        None if rows is None else int(rows),
        trained_on,
    )


def production(client: MlflowClient, name: str, *, exists: bool = False) -> ServedVersion | None:
    """The version holding @production, or None when no version does (yet).

    Searched first, unless the caller has seen a version of the model (`exists`): for a
    registered model that does not exist, MLflow's basic-auth answers the alias lookup
    of a non-admin user (Airflow's) with 403 Permission denied rather than "does not exist".
    """
    if not exists and latest_version(client, name) is None:
        return None
    version = production_version(client, name)
    return None if version is None else describe(client, version)


def challenger(client: MlflowClient, name: str) -> ServedVersion | None:
    """The version holding @challenger (and not @production), or None."""
    if latest_version(client, name) is None:
        return None
    version = challenger_version(client, name)
    return None if version is None else describe(client, version)
