"""Crafted rows for the monitoring tables (tests and the e2e tier insert the same shapes)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Engine, text


def insert_predictions(engine: Engine, dataset: str, at: datetime, classes: list[str], request_id: str, model_version: str = "3") -> None:
    """One request of len(classes) rows predicted at `at` (UTC, naive)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO predictions (request_id, row_index, predicted_at, dataset, route, model_name, model_version, "
                "features, prediction, confidence, probabilities, latency_ms) VALUES "
                "(:request_id, :row_index, :at, :dataset, :route, :model, :version, :features, :prediction, 0.9, :probs, 4.2)"
            ),
            [
                {
                    "request_id": request_id,
                    "row_index": i,
                    "at": at,
                    "dataset": dataset,
                    "route": "/models/{name}/predict",
                    "model": f"{dataset}-classifier",
                    "version": model_version,
                    "features": json.dumps({"x": i}),
                    "prediction": label,
                    "probs": json.dumps({label: 0.9}),
                }
                for i, label in enumerate(classes)
            ],
        )


def insert_quality(
    engine: Engine, dataset: str, at: datetime, version: str, accuracy: float, baseline: float | None, batch: int, model: str | None = None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO model_quality (dataset, model_name, model_version, batch_key, group_number, batch_number, rows_scored, "
                "accuracy, f1_macro, baseline_accuracy, baseline_f1_macro, mlflow_run_id, measured_at) VALUES "
                "(:dataset, :model, :version, :key, 1, :batch, 1000, :accuracy, :f1, :baseline, :baseline, NULL, :at)"
            ),
            {
                "dataset": dataset,
                "model": model or f"{dataset}-classifier",
                "version": version,
                "key": f"batch-{batch}-{at.isoformat()}",
                "batch": batch,
                "accuracy": accuracy,
                "f1": accuracy - 0.05,
                "baseline": baseline,
                "at": at,
            },
        )


def insert_drift(
    engine: Engine,
    dataset: str,
    check_id: str,
    at: datetime,
    features: dict[str, tuple[float, bool]],
    run_id: str | None,
    source: str = "ingested",
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO feature_drift (check_id, source, feature, dataset, model_name, model_version, window_start, window_end, "
                "method, statistic, p_value, drifted, rows_compared, report_run_id, measured_at) VALUES "
                "(:check_id, :source, :feature, :dataset, :model, '3', :start, :at, 'psi', :statistic, NULL, :drifted, 500, :run_id, :at)"
            ),
            [
                {
                    "check_id": check_id,
                    "source": source,
                    "feature": feature,
                    "dataset": dataset,
                    "model": f"{dataset}-classifier",
                    "start": at - timedelta(hours=1),
                    "at": at,
                    "statistic": statistic,
                    "drifted": drifted,
                    "run_id": run_id,
                }
                for feature, (statistic, drifted) in features.items()
            ],
        )


def insert_trigger(engine: Engine, dataset: str, reason: str, at: datetime, detail: dict, status: str = "fired") -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO retrain_triggers (dataset, reason, detail, model_name, model_version, fired_at, status) "
                "VALUES (:dataset, :reason, :detail, :model, '3', :at, :status)"
            ),
            {
                "dataset": dataset,
                "reason": reason,
                "detail": json.dumps(detail),
                "model": f"{dataset}-classifier",
                "at": at,
                "status": status,
            },
        )


def insert_source_state(
    engine: Engine, dataset: str, group: int, batch: int | None, checked_at: datetime, exhausted_at: datetime | None = None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO source_state (dataset, group_number, batch_number, exhausted_at, checked_at) "
                "VALUES (:dataset, :group, :batch, :exhausted_at, :checked_at)"
            ),
            {"dataset": dataset, "group": group, "batch": batch, "exhausted_at": exhausted_at, "checked_at": checked_at},
        )
