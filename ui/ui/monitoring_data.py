"""What the Monitoring tab shows, as frames: the monitoring tables in mlops_data
(read with MySQL's select-only user) and Prometheus's series (its HTTP API).

The table shapes are airflow's (mlops_pipelines/tables.py, MONITORING_TABLES;
contract/monitoring-tables.json). Every failure to reach a source comes out as
`SourceUnavailable`, whose message says which source and why, so the tab can
say so and show the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import pandas as pd
import requests
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError


class SourceUnavailable(Exception):
    """A monitoring source (MySQL or Prometheus) could not be read."""


# ---------------------------------------------------------------- MySQL


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    # One pool per URL for the server process; short timeouts so a down MySQL
    # makes the tab say so quickly instead of hanging the page.
    return create_engine(url, pool_pre_ping=True, pool_recycle=1800, connect_args={"connect_timeout": 3, "read_timeout": 15})


def _frame(engine: Engine, sql: str, **params: Any) -> pd.DataFrame:
    try:
        with engine.connect() as conn:
            result = conn.execute(text(sql), params)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise SourceUnavailable(f"the monitoring tables in MySQL cannot be read: {reason}") from exc


def utc_naive(moment: datetime) -> datetime:
    """The tables hold UTC without a zone (DATETIME)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def as_utc(moment: datetime | pd.Timestamp) -> datetime:
    """A DATETIME read from the tables (UTC, no zone) as an aware datetime."""
    value = pd.Timestamp(moment).to_pydatetime()
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def class_mix(engine: Engine, dataset: str, since: datetime) -> pd.DataFrame:
    """Predictions per minute and predicted class since `since`: columns minute (UTC), prediction, count.
    Counted in MySQL, so a busy table sends minutes x classes rows, not every prediction."""
    frame = _frame(
        engine,
        "SELECT DATE_FORMAT(predicted_at, '%Y-%m-%d %H:%i:00') AS minute, prediction, COUNT(*) AS n "
        "FROM predictions WHERE dataset = :dataset AND predicted_at >= :since "
        "GROUP BY DATE_FORMAT(predicted_at, '%Y-%m-%d %H:%i:00'), prediction ORDER BY minute, prediction",
        dataset=dataset,
        since=utc_naive(since),
    )
    frame = frame.rename(columns={"n": "count"})
    frame["minute"] = pd.to_datetime(frame["minute"])
    frame["count"] = frame["count"].astype(int)
    return frame


def bucketed(mix: pd.DataFrame, minutes: int) -> pd.DataFrame:
    """The per-minute class mix summed into buckets of `minutes` (columns time, prediction, count, share)."""
    if mix.empty:
        return pd.DataFrame(columns=["time", "prediction", "count", "share"])
    frame = mix.assign(time=mix["minute"].dt.floor(f"{minutes}min"))
    frame = frame.groupby(["time", "prediction"], as_index=False)["count"].sum()
    frame["share"] = frame["count"] / frame.groupby("time")["count"].transform("sum")
    return frame


def quality(engine: Engine, dataset: str, limit: int = 500) -> pd.DataFrame:
    """The latest `limit` scored batches, oldest first (model_quality's columns)."""
    frame = _frame(
        engine,
        "SELECT model_name, model_version, batch_key, group_number, batch_number, rows_scored, accuracy, f1_macro, "
        "baseline_accuracy, baseline_f1_macro, mlflow_run_id, measured_at FROM model_quality "
        "WHERE dataset = :dataset ORDER BY measured_at DESC, id DESC LIMIT :limit",
        dataset=dataset,
        limit=limit,
    )
    frame = frame.iloc[::-1].reset_index(drop=True)
    if not frame.empty:
        frame["measured_at"] = pd.to_datetime(frame["measured_at"])
        frame["model_version"] = frame["model_version"].astype(str)
    # Runs of consecutive batches scored by one version: 1, 1, 2, 2, 3 ...
    key = frame["model_name"].astype(str) + ":" + frame["model_version"].astype(str)
    frame["segment"] = (key != key.shift()).cumsum()
    return frame


def version_changes(quality_frame: pd.DataFrame) -> pd.DataFrame:
    """The batches where the scored model version differs from the batch before (the first batch included)."""
    if quality_frame.empty:
        return quality_frame.iloc[0:0][["measured_at", "model_version"]]
    key = quality_frame["model_name"] + ":" + quality_frame["model_version"]
    return quality_frame.loc[key != key.shift(), ["measured_at", "model_version"]].reset_index(drop=True)


@dataclass(frozen=True)
class DriftReport:
    check_id: str
    measured_at: datetime
    window_start: datetime
    window_end: datetime
    model_name: str
    model_version: str
    report_run_id: str | None
    features: pd.DataFrame  # source, feature, method, statistic, p_value, drifted, rows_compared

    def drifted_share(self, source: str) -> float:
        rows = self.features[self.features["source"] == source]
        return float(rows["drifted"].mean()) if len(rows) else 0.0


def latest_drift(engine: Engine, dataset: str) -> DriftReport | None:
    """The dataset's most recent drift check, every source and feature of it."""
    latest = _frame(
        engine,
        "SELECT check_id FROM feature_drift WHERE dataset = :dataset ORDER BY measured_at DESC, id DESC LIMIT 1",
        dataset=dataset,
    )
    if latest.empty:
        return None
    rows = _frame(
        engine,
        "SELECT check_id, source, feature, model_name, model_version, window_start, window_end, method, statistic, "
        "p_value, drifted, rows_compared, report_run_id, measured_at FROM feature_drift "
        "WHERE dataset = :dataset AND check_id = :check_id ORDER BY source, feature",
        dataset=dataset,
        check_id=str(latest["check_id"].iloc[0]),
    )
    first = rows.iloc[0]
    run_ids = [r for r in rows["report_run_id"] if r]
    features = rows[["source", "feature", "method", "statistic", "p_value", "drifted", "rows_compared"]].copy()
    features["drifted"] = features["drifted"].astype(bool)
    features["statistic"] = features["statistic"].astype(float)
    return DriftReport(
        check_id=str(first["check_id"]),
        measured_at=pd.Timestamp(rows["measured_at"].max()).to_pydatetime(),
        window_start=pd.Timestamp(first["window_start"]).to_pydatetime(),
        window_end=pd.Timestamp(first["window_end"]).to_pydatetime(),
        model_name=str(first["model_name"]),
        model_version=str(first["model_version"]),
        report_run_id=run_ids[0] if run_ids else None,
        features=features.reset_index(drop=True),
    )


def retrain_triggers(engine: Engine, dataset: str, limit: int = 20) -> pd.DataFrame:
    """The latest triggers, newest first: fired_at, status (fired, acted, held), reason, detail, model_name, model_version."""
    return _frame(
        engine,
        "SELECT fired_at, status, reason, detail, model_name, model_version FROM retrain_triggers "
        "WHERE dataset = :dataset ORDER BY fired_at DESC, id DESC LIMIT :limit",
        dataset=dataset,
        limit=limit,
    )


@dataclass(frozen=True)
class LiveAccuracy:
    """A version's accuracy over every labelled batch it scored (rows it did not train on; model_quality)."""

    accuracy: float
    rows: int
    batches: int


def live_accuracy(engine: Engine, model_name: str, version: str) -> LiveAccuracy | None:
    frame = _frame(
        engine,
        "SELECT SUM(accuracy * rows_scored) / SUM(rows_scored) AS accuracy, SUM(rows_scored) AS n, COUNT(*) AS batches "
        "FROM model_quality WHERE model_name = :model AND model_version = :version AND rows_scored > 0",
        model=model_name,
        version=str(version),
    )
    row = frame.iloc[0]
    if not row["batches"]:
        return None
    return LiveAccuracy(float(row["accuracy"]), int(row["n"]), int(row["batches"]))


# What the Model tab shows of a comparison: named, so a column renamed in airflow's schema fails here.
COMPARISON_COLUMNS = (
    "production_version",
    "challenger_version",
    "batches",
    "rows_compared",
    "rows_excluded",
    "production_accuracy",
    "challenger_accuracy",
    "accuracy_diff",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "mcnemar_p",
    "production_f1_macro",
    "challenger_f1_macro",
    "f1_macro_diff",
    "f1_macro_ci_low",
    "f1_macro_ci_high",
    "recommendation",
    "sentence",
    "updated_at",
)


def comparison(engine: Engine, model_name: str, production_version: str) -> dict[str, Any] | None:
    """The newest comparison of a challenger with this production version (challenger_comparison's row), or None."""
    frame = _frame(
        engine,
        f"SELECT {', '.join(COMPARISON_COLUMNS)} FROM challenger_comparison WHERE model_name = :model AND production_version = :version "
        "ORDER BY updated_at DESC, id DESC LIMIT 1",
        model=model_name,
        version=str(production_version),
    )
    if frame.empty:
        return None
    row = frame.iloc[0].to_dict()
    row["challenger_version"] = str(row["challenger_version"])
    return row


@dataclass(frozen=True)
class SourceState:
    """What ingestion last found at the dataset's data_api group (source_state)."""

    group_number: int
    batch_number: int | None  # the last batch received; once exhausted, the group's last
    exhausted_at: datetime | None  # when ingestion first found no batch left; None while it serves
    checked_at: datetime

    def message(self) -> str:
        """In plain words, with what to do when the group has run out."""
        group, batch = self.group_number, self.batch_number
        if self.exhausted_at is not None:
            last = "its last batch" if batch is None else f"its last batch ({batch})"
            return (
                f"Group {group} delivered {last} by {self.exhausted_at:%Y-%m-%d %H:%M} UTC: no new labelled data. "
                f"Restart it with data_api's `GET /restart_data_generation?group_number={group}`; "
                "the next ingest run then starts again at batch 1."
            )
        return f"Ingesting data_api group {group}: batch {batch} received at {self.checked_at:%Y-%m-%d %H:%M} UTC."


def source_state(engine: Engine, dataset: str) -> SourceState | None:
    """The data_api group ingestion checked last for `dataset` (None: no ingest has run)."""
    frame = _frame(
        engine,
        "SELECT group_number, batch_number, exhausted_at, checked_at FROM source_state "
        "WHERE dataset = :dataset ORDER BY checked_at DESC, id DESC LIMIT 1",
        dataset=dataset,
    )
    if frame.empty:
        return None
    row = frame.iloc[0]
    return SourceState(
        group_number=int(row["group_number"]),
        batch_number=None if pd.isna(row["batch_number"]) else int(row["batch_number"]),
        exhausted_at=None if pd.isna(row["exhausted_at"]) else pd.Timestamp(row["exhausted_at"]).to_pydatetime(),
        checked_at=pd.Timestamp(row["checked_at"]).to_pydatetime(),
    )


def latest_quality(engine: Engine) -> pd.DataFrame:
    """Per dataset, its most recently written scored batch (for quality-exporter's gauges)."""
    return _frame(
        engine,
        "SELECT dataset, model_name, model_version, accuracy, f1_macro, baseline_accuracy, baseline_f1_macro, measured_at "
        "FROM model_quality WHERE id IN (SELECT MAX(id) FROM model_quality GROUP BY dataset) ORDER BY dataset",
    )


def mlflow_run_link(mlflow_url: str, run_id: str) -> str:
    """The run in MLflow's UI: its direct route finds the experiment; the report is under Artifacts."""
    return f"{mlflow_url}/#/runs/{run_id}"


# ---------------------------------------------------------------- Prometheus


def prometheus_range(base_url: str, query: str, start: datetime, end: datetime, step_seconds: int, timeout: float = 10.0) -> pd.DataFrame:
    """A range query: columns time (UTC, naive), value, and one column per label of the series."""
    params: dict[str, str | float] = {"query": query, "start": start.timestamp(), "end": end.timestamp(), "step": step_seconds}
    try:
        response = requests.get(f"{base_url}/api/v1/query_range", params=params, timeout=timeout)
    except requests.RequestException as exc:
        raise SourceUnavailable(f"Prometheus at {base_url} cannot be reached: {type(exc).__name__}") from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or body.get("status") != "success":
        raise SourceUnavailable(f"Prometheus at {base_url} answered {response.status_code}: {body.get('error', response.text[:200])}")
    rows = []
    for series in body["data"]["result"]:
        labels = series["metric"]
        for at, value in series["values"]:
            number = float(value)
            if number == number:  # NaN: a quantile of no requests
                rows.append({**labels, "time": datetime.fromtimestamp(float(at), tz=UTC).replace(tzinfo=None), "value": number})
    return pd.DataFrame(rows, columns=sorted({"time", "value", *(k for r in rows for k in r)}))


def window(hours: float, now: datetime | None = None) -> tuple[datetime, datetime, int]:
    """[start, end] of the last `hours` and a step giving about 240 points (at least 15 s, the scrape interval)."""
    end = now or datetime.now(UTC)
    start = end - timedelta(hours=hours)
    step = max(15, int(hours * 3600 / 240))
    return start, end, step
