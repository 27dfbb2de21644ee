"""The Monitoring tab of one dataset: whether its data source still delivers,
traffic and latency (Prometheus), the predicted-class mix, live accuracy against the baseline, drift per feature and
the retraining triggers (the monitoring tables in MySQL).

A source that cannot be read is named in a warning; the other sections and the
other tabs go on working.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from ui import monitoring_charts as charts
from ui import monitoring_data as data
from ui.inference_client import ModelSummary
from ui.settings import Settings

TRAFFIC_KEY = "monitoring_traffic"
CLASS_MIX_KEY = "monitoring_class_mix"
QUALITY_KEY = "monitoring_quality"
DRIFT_KEY = "monitoring_drift"
TRIGGERS_KEY = "monitoring_triggers"
SOURCE_KEY = "monitoring_source"
PREDICTIONS_METRIC = "Predictions logged"
REFRESH_KEY = "monitoring_refresh"
# Streamlit reruns the whole script, every tab included, on each interaction:
# reads are cached this long so using the Predict tab does not query MySQL and
# Prometheus each time. Failures are not cached.
CACHE_SECONDS = 30


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _prometheus(url: str, query: str, hours: float) -> pd.DataFrame:
    start, end, step = data.window(hours)
    return data.prometheus_range(url, query, start, end, step)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _class_mix(db_url: str, dataset: str, hours: float) -> pd.DataFrame:
    return data.class_mix(data.engine_for(db_url), dataset, datetime.now(UTC) - pd.Timedelta(hours=hours))


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _quality(db_url: str, dataset: str) -> pd.DataFrame:
    return data.quality(data.engine_for(db_url), dataset)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _drift(db_url: str, dataset: str) -> data.DriftReport | None:
    return data.latest_drift(data.engine_for(db_url), dataset)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _triggers(db_url: str, dataset: str) -> pd.DataFrame:
    return data.retrain_triggers(data.engine_for(db_url), dataset)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _source(db_url: str, dataset: str) -> data.SourceState | None:
    return data.source_state(data.engine_for(db_url), dataset)


def _bucket_minutes(hours: float) -> int:
    """About 30 bars over the window, in round minutes."""
    for minutes in (1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440):
        if hours * 60 / minutes <= 40:
            return minutes
    return 1440


def _traffic_queries(model_name: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(per-model queries, route-level fallbacks) as (query, series name) pairs for rate, p50 and p99."""
    selector = f'{{model="{model_name}"}}'
    per_model = [
        (f"model_version:inference_prediction_requests:rate5m{selector}", "requests/s"),
        (f"model_version:inference_prediction_duration_seconds:p50_5m{selector}", "p50"),
        (f"model_version:inference_prediction_duration_seconds:p99_5m{selector}", "p99"),
    ]
    # Before inference exposes model time per model: the predict routes of every model.
    predict = '{route=~".*predict.*"}'
    routes = [
        (f"route:inference_requests:rate5m{predict}", "requests/s"),
        (f"route:inference_request_duration_seconds:p50_5m{predict}", "p50"),
        (f"route:inference_request_duration_seconds:p99_5m{predict}", "p99"),
    ]
    return per_model, routes


def _series_label(frame: pd.DataFrame, name: str) -> pd.Series:
    if "version" in frame:
        return name + " v" + frame["version"].astype(str)
    if "route" in frame:
        return name + " " + frame["route"].astype(str)
    return pd.Series(name, index=frame.index)


def render_traffic(model: ModelSummary, settings: Settings) -> None:
    st.markdown("**Requests and latency** (Prometheus)")
    hours = settings.monitoring_hours
    per_model, routes = _traffic_queries(model.name)
    try:
        frames = [(_prometheus(settings.prometheus_url, q, hours), name) for q, name in per_model]
        scope = f"{model.name}, per version (model time)"
        if all(f.empty for f, _ in frames):
            frames = [(_prometheus(settings.prometheus_url, q, hours), name) for q, name in routes]
            scope = "every model's predict routes (request time)"
    except data.SourceUnavailable as exc:
        st.warning(f"Requests and latency cannot be shown: {exc}. The other sections do not need Prometheus.")
        return
    labelled = [f.assign(series=_series_label(f, name)) for f, name in frames]
    rate = labelled[0] if not labelled[0].empty else None
    latency_parts = [f for f in labelled[1:] if not f.empty]
    with st.container(key=TRAFFIC_KEY):
        if rate is None and not latency_parts:
            st.info(f"Prometheus has no request series for {model.name} in the last {settings.monitoring_hours:g} hours.")
            return
        st.caption(f"Last {settings.monitoring_hours:g} hours, 5-minute windows: {scope}.")
        left, right = st.columns(2)
        if rate is not None:
            left.altair_chart(charts.series_chart(rate, "Requests per second", "series", ".2f"), width="stretch")
        if latency_parts:
            latency = pd.concat(latency_parts, ignore_index=True)
            latency["value"] = latency["value"] * 1000
            right.altair_chart(charts.series_chart(latency, "Latency (ms)", "series", ".1f"), width="stretch")


def render_class_mix(db_url: str, model: ModelSummary, settings: Settings) -> None:
    st.markdown("**Predicted classes over time** (predictions table)")
    mix = _class_mix(db_url, model.dataset, settings.monitoring_hours)
    with st.container(key=CLASS_MIX_KEY):
        total = int(mix["count"].sum()) if len(mix) else 0
        st.metric(PREDICTIONS_METRIC, f"{total:,}", help=f"{model.dataset} predictions in the last {settings.monitoring_hours:g} hours")
        if not total:
            st.info(f"No {model.dataset} prediction was logged in the last {settings.monitoring_hours:g} hours.")
            return
        minutes = _bucket_minutes(settings.monitoring_hours)
        st.caption(f"{total:,} predictions, in {minutes}-minute bars, by predicted class.")
        st.altair_chart(charts.class_mix_chart(data.bucketed(mix, minutes)), width="stretch")


def render_quality(db_url: str, model: ModelSummary) -> None:
    st.markdown("**Live accuracy per scored batch** (model_quality)")
    quality = _quality(db_url, model.dataset)
    with st.container(key=QUALITY_KEY):
        if quality.empty:
            st.info(f"No {model.dataset} batch has been scored yet: live accuracy is measured on labelled batches as they are ingested.")
            return
        last = quality.iloc[-1]
        left, middle, right = st.columns(3)
        left.metric("Scored batches", f"{len(quality):,}")
        baseline = last["baseline_accuracy"]
        delta = None if pd.isna(baseline) else f"{(last['accuracy'] - baseline) * 100:+.1f} points vs baseline"
        middle.metric(f"Latest accuracy (v{last['model_version']})", f"{last['accuracy']:.3f}", delta=delta)
        right.metric("Baseline (test accuracy)", "n/a" if pd.isna(baseline) else f"{baseline:.3f}")
        st.altair_chart(charts.quality_chart(quality, data.version_changes(quality)), width="stretch")
        st.caption(
            "Solid: accuracy of each batch. Dashed: the scoring version's own test accuracy. Gray rules: the scored version changed."
        )


def render_drift(db_url: str, model: ModelSummary, settings: Settings) -> None:
    st.markdown("**Drift per feature, latest check** (feature_drift)")
    report = _drift(db_url, model.dataset)
    with st.container(key=DRIFT_KEY):
        if report is None:
            st.info(f"No drift check has run for {model.dataset} yet (Airflow's monitor_drift DAG).")
            return
        shares = ", ".join(
            f"{source}: {report.drifted_share(source):.0%} of features drifted" for source in sorted(set(report.features["source"]))
        )
        st.caption(
            f"Check {report.check_id} of {report.model_name} v{report.model_version}, window "
            f"{report.window_start:%Y-%m-%d %H:%M} to {report.window_end:%Y-%m-%d %H:%M} UTC. {shares}."
        )
        st.altair_chart(charts.drift_chart(report.features), width="stretch")
        if report.report_run_id:
            st.link_button(
                "Open the drift report in MLflow", data.mlflow_run_link(settings.mlflow_url, report.report_run_id), key="drift_report_link"
            )


def render_triggers(db_url: str, model: ModelSummary) -> None:
    st.markdown("**Retraining triggers** (retrain_triggers)")
    triggers = _triggers(db_url, model.dataset)
    with st.container(key=TRIGGERS_KEY):
        if triggers.empty:
            st.caption("The monitor has not asked for retraining yet.")
            return
        st.dataframe(triggers, hide_index=True)


def render_source(db_url: str, model: ModelSummary) -> None:
    """A group with no batch left is said first: every figure below stops changing."""
    state = _source(db_url, model.dataset)
    if state is None:  # a dataset without a data_api source, or no ingest yet
        return
    with st.container(key=SOURCE_KEY):
        if state.exhausted_at is not None:
            st.warning(state.message())
        else:
            st.caption(state.message())


def refresh() -> None:
    for cached in (_prometheus, _class_mix, _quality, _drift, _triggers, _source):
        cached.clear()


def render(model: ModelSummary, settings: Settings) -> None:
    title, button = st.columns([5, 1])
    title.subheader(f"Monitoring: {model.dataset}")
    button.button("Refresh", key=REFRESH_KEY, on_click=refresh, help=f"Read again now (figures are kept up to {CACHE_SECONDS} s)")
    db_url = settings.monitor_db_sqlalchemy_url()
    try:
        render_source(db_url, model)
    except data.SourceUnavailable:
        pass  # MySQL cannot be read: the sections below say why (source_state alone unreadable: only this line is missing)
    render_traffic(model, settings)
    try:
        render_class_mix(db_url, model, settings)
        render_quality(db_url, model)
        render_drift(db_url, model, settings)
        render_triggers(db_url, model)
    except data.SourceUnavailable as exc:
        # The first failed read says why; the others would only repeat it.
        st.warning(f"The prediction log, live accuracy and drift cannot be shown: {exc}.")
