"""Crafted rows for the monitoring tables (tests and the e2e tier insert the same shapes)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Engine, text


def insert_predictions(engine: Engine, dataset: str, at: datetime, classes: list[str], request_id: str, model_version: str = "3") -> None:
    """One request of len(classes) rows predicted at `at` (UTC, naive), as inference logs it (a prediction_requests row)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO prediction_requests (request_id, first_row_index, n_rows, predicted_at, dataset, route, model_name, "
                "model_version, latency_ms, row_predictions) VALUES "
                "(:request_id, 0, :n_rows, :at, :dataset, :route, :model, :version, 4.2, :row_predictions)"
            ),
            {
                "request_id": request_id,
                "n_rows": len(classes),
                "at": at,
                "dataset": dataset,
                "route": "/models/{name}/predict",
                "model": f"{dataset}-classifier",
                "version": model_version,
                "row_predictions": json.dumps([[{"x": i}, label, 0.9, {label: 0.9}] for i, label in enumerate(classes)]),
            },
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


def insert_comparison(engine: Engine, model: str, production: str, challenger: str, at: datetime, **figures) -> None:
    """A challenger_comparison row as airflow's monitoring.challenger writes it (figures override the defaults)."""
    row = {
        "dataset": model.removesuffix("-classifier"),
        "model_name": model,
        "production_version": production,
        "challenger_version": challenger,
        "batches": 3,
        "rows_compared": 2870,
        "rows_excluded": 130,
        "production_accuracy": 0.7912,
        "challenger_accuracy": 0.8105,
        "accuracy_diff": 0.0193,
        "accuracy_ci_low": 0.0081,
        "accuracy_ci_high": 0.0305,
        "challenger_only_right": 141,
        "production_only_right": 86,
        "mcnemar_p": 0.00031,
        "production_f1_macro": 0.7001,
        "challenger_f1_macro": 0.7220,
        "f1_macro_diff": 0.0219,
        "f1_macro_ci_low": 0.0050,
        "f1_macro_ci_high": 0.0390,
        "recommendation": "promote",
        "sentence": f"Challenger v{challenger} is better than production v{production}: promote.",
        "updated_at": at,
        **figures,
    }
    columns = ", ".join(row)
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO challenger_comparison ({columns}) VALUES ({', '.join(':' + c for c in row)})"), row)
