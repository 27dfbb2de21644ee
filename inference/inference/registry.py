"""Everything the service asks of the MLflow registry, through the MLflow server."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inference.fast_path import CompiledPipeline, compile_pipeline, frame
from inference.feature_spec import FeatureSpec
from inference.settings import Settings

log = logging.getLogger(__name__)

FEATURE_SPEC_KEY = "feature_spec"
FEATURE_SPEC_FILE = "feature_spec.json"
# Tags the training DAGs put on each registered version (mlops_pipelines.training.tracking).
TAG_FAMILY = "training.family"
TAG_DAG_ID = "airflow.dag_id"
TAG_RUN_ID = "airflow.run_id"


def _iso(millis: int | None) -> str | None:
    return None if not millis else datetime.fromtimestamp(millis / 1000, tz=UTC).isoformat()


class ModelNotFound(Exception):
    """The registry has no such model, version or alias."""


@dataclass
class LoadedModel:
    name: str
    version: str
    run_id: str | None
    pipeline: Any
    spec: FeatureSpec
    signature: dict[str, Any] | None
    input_example: list[dict[str, Any]]
    compiled: CompiledPipeline | None
    loaded_at: float = field(default_factory=time.time)

    @cached_property
    def dataset(self) -> str:
        """The dataset the model's feature spec names (the training DAGs log it), else its name's."""
        return str(self.spec.raw.get("dataset") or Settings.dataset_of(self.name))

    @cached_property
    def classes(self) -> list[Any]:
        return [c.item() if isinstance(c, np.generic) else c for c in self.pipeline.classes_]

    @cached_property
    def class_keys(self) -> list[str]:
        """Each class as the answers' probabilities name it (JSON object keys are strings)."""
        return [str(c) for c in self.classes]

    @cached_property
    def class_names(self) -> list[str]:
        """Each class in words (the feature spec's class_names), in the classes' order."""
        return [self.spec.label_name(c) for c in self.classes]

    def predict_proba(self, rows: list[dict[str, Any]]) -> np.ndarray:
        if self.compiled is not None:
            return self.compiled.predict_proba(rows)
        return self.pipeline.predict_proba(frame(rows, self.spec.names))

    def probabilities(self, rows: list[dict[str, Any]]) -> list[list[float]]:
        """`predict_proba(rows).tolist()`: one row through the compiled path's plain-Python steps."""
        if self.compiled is not None:
            return self.compiled.probabilities(rows)
        return self.pipeline.predict_proba(frame(rows, self.spec.names)).tolist()


def _configure_mlflow_client(settings: Settings) -> None:
    """This process's MLflow client settings: it talks to one server, registry included."""
    import mlflow

    # The MLflow client retries for minutes by default; a down registry must
    # show up in /ready within seconds instead.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(settings.mlflow_timeout_seconds)))
    # MLflow 3.17 clients fetch artifacts through presigned S3 URLs when the
    # server offers them; those name MinIO's address inside the compose network.
    # Artifacts stay proxied by the server instead (one address, no S3 access).
    os.environ.setdefault("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    # models:/ URIs resolve through the process-wide registry URI, which
    # otherwise defaults to a local sqlite file: this process serves one registry.
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_tracking_uri)


def _example_rows(example: Any) -> list[dict[str, Any]]:
    if example is None:
        return []
    if isinstance(example, pd.DataFrame):
        records = example.astype(object).where(example.notna(), None).to_dict("records")
        return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in records]
    if isinstance(example, dict):
        return [example]
    return list(example)


class Registry:
    def __init__(self, settings: Settings):
        _configure_mlflow_client(settings)
        from mlflow import MlflowClient

        self.settings = settings
        self.client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)

    @staticmethod
    def _not_found(exc: Exception) -> bool:
        # PERMISSION_DENIED: MLflow's basic-auth answers 403 to a non-admin asking for a
        # model that does not exist yet; every existing one is readable (READ by default).
        return getattr(exc, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "PERMISSION_DENIED")

    def version_for(self, name: str, alias: str) -> str | None:
        """The version an alias points to; None when no version has it."""
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(name, alias).version)
        except MlflowException as exc:
            if self._not_found(exc):
                return None
            raise

    def describe(self, name: str) -> dict[str, Any]:
        """Versions of a registered model with their aliases."""
        from mlflow.exceptions import MlflowException

        try:
            # Version searches do not fill in aliases; the registered model has them.
            aliases = self.client.get_registered_model(name).aliases
            versions = self.client.search_model_versions(f"name = '{name}'")
        except MlflowException as exc:
            if self._not_found(exc):
                raise ModelNotFound(f"no registered model {name!r}") from exc
            raise
        by_version: dict[str, list[str]] = {}
        for alias, version in aliases.items():
            by_version.setdefault(str(version), []).append(alias)
        return {
            "aliases": {alias: str(version) for alias, version in aliases.items()},
            "versions": sorted(
                (
                    {
                        "version": str(v.version),
                        "aliases": sorted(by_version.get(str(v.version), [])),
                        "run_id": v.run_id,
                        "status": v.status,
                        "created_at": v.creation_timestamp,
                    }
                    for v in versions
                ),
                key=lambda v: int(v["version"]),
                reverse=True,
            ),
        }

    def version_details(self, name: str, version: str) -> dict[str, Any]:
        """Who trained a version, how, and how well: its tags, its run and its logged model."""
        model_version = self.client.get_model_version(name, version)
        run = self.client.get_run(model_version.run_id) if model_version.run_id else None
        model_id = getattr(model_version, "model_id", None)
        logged = self.client.get_logged_model(model_id) if model_id else None
        tags = {**(run.data.tags if run else {}), **model_version.tags}
        return {
            "aliases": sorted(model_version.aliases or []),
            "family": tags.get(TAG_FAMILY) or (logged.model_type if logged else None),
            # The hyper-parameters the training DAG logged with the model (not the run's other settings).
            "hyperparameters": dict(logged.params) if logged and logged.params else dict(run.data.params if run else {}),
            "metrics": dict(run.data.metrics) if run else {},
            "trained_at": _iso(run.info.end_time or run.info.start_time) if run else None,
            "registered_at": _iso(model_version.creation_timestamp),
            "dag_id": tags.get(TAG_DAG_ID),
            "dag_run_id": tags.get(TAG_RUN_ID),
            "run_id": model_version.run_id,
        }

    def run_metrics(self, run_id: str | None) -> dict[str, float]:
        return dict(self.client.get_run(run_id).data.metrics) if run_id else {}

    def grid_coverage(self, name: str, version: str) -> dict[str, Any] | None:
        """How many candidates of its grid the training run evaluated (tags the training DAG sets), if recorded."""
        tags = self.client.get_model_version(name, version).tags or {}
        try:
            evaluated, total = int(tags["candidates_evaluated"]), int(tags["candidates_total"])
        except (KeyError, ValueError):
            return None
        return {"candidates_evaluated": evaluated, "candidates_total": total, "partial": tags.get("partial_grid") == "true"}

    def load(self, name: str, version: str) -> LoadedModel:
        """Download a model version once and prepare it for serving."""
        import mlflow.sklearn
        from mlflow.exceptions import MlflowException
        from mlflow.models import Model

        try:
            model_version = self.client.get_model_version(name, version)
        except MlflowException as exc:
            if self._not_found(exc):
                raise ModelNotFound(f"model {name!r} has no version {version}") from exc
            raise
        with tempfile.TemporaryDirectory(prefix="model-") as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version}",
                dst_path=tmp,
                tracking_uri=self.settings.mlflow_tracking_uri,
                registry_uri=self.settings.mlflow_tracking_uri,
            )
            meta = Model.load(local)
            pipeline = mlflow.sklearn.load_model(local)
            spec_dict = (meta.metadata or {}).get(FEATURE_SPEC_KEY)
            if spec_dict is None and (Path(local) / FEATURE_SPEC_FILE).exists():
                spec_dict = json.loads((Path(local) / FEATURE_SPEC_FILE).read_text())
            if spec_dict is None:
                raise ValueError(f"{name} v{version} carries no feature spec ({FEATURE_SPEC_KEY} in its MLmodel metadata)")
            example = _example_rows(meta.load_input_example(local))
        # No n_jobs reset here: training logs single-threaded models (pipelines.for_single_rows),
        # and the compiled path sums a forest's trees itself, without joblib.
        spec = FeatureSpec(spec_dict)
        # The compiled path must match the pipeline on missing values too.
        check_rows = example + [{**example[0], f["name"]: None} for f in spec.features if f.get("nullable") and example]
        compiled = compile_pipeline(pipeline, spec.names, check_rows) if example else None
        return LoadedModel(
            name=name,
            version=str(version),
            run_id=model_version.run_id,
            pipeline=pipeline,
            spec=spec,
            signature=meta.signature.to_dict() if meta.signature else None,
            input_example=example,
            compiled=compiled,
        )
