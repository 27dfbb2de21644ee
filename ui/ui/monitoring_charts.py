"""Charts of the Monitoring tab (Altair, like the probability chart)."""

from __future__ import annotations

import altair as alt
import pandas as pd

# The frames hold UTC without a zone: shown as UTC, 24-hour, whatever the browser's zone.
UTC_SCALE = alt.Scale(type="utc")
CLOCK = alt.Axis(format="%H:%M")


def series_chart(frame: pd.DataFrame, title: str, series: str, fmt: str) -> alt.Chart:
    """One line per series over time (Prometheus range results)."""
    return (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=12))
        .encode(
            x=alt.X("time:T", title="Time (UTC)", scale=UTC_SCALE, axis=CLOCK),
            y=alt.Y("value:Q", title=title, axis=alt.Axis(format=fmt)),
            color=alt.Color(f"{series}:N", title=None),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M:%S", formatType="utc"),
                alt.Tooltip(f"{series}:N"),
                alt.Tooltip("value:Q", format=fmt),
            ],
        )
        .properties(height=220)
    )


def class_mix_chart(frame: pd.DataFrame) -> alt.Chart:
    """Predictions per time bucket, stacked by predicted class."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("time:T", title="Time (UTC)", scale=UTC_SCALE, axis=CLOCK),
            y=alt.Y("count:Q", title="Predictions", stack="zero"),
            color=alt.Color("prediction:N", title="Predicted class"),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M", formatType="utc"),
                alt.Tooltip("prediction:N", title="Class"),
                alt.Tooltip("count:Q", title="Predictions"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(height=240)
    )


def quality_chart(quality: pd.DataFrame, changes: pd.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """Accuracy of each scored batch, the baseline of the version that scored it
    (dashed), and a rule where the scored version changes."""
    base = alt.Chart(quality).encode(
        x=alt.X("measured_at:T", title="Batch scored at (UTC)", scale=UTC_SCALE, axis=alt.Axis(format="%m-%d %H:%M"))
    )
    tooltip = [
        alt.Tooltip("measured_at:T", title="Scored at", format="%Y-%m-%d %H:%M", formatType="utc"),
        alt.Tooltip("model_version:N", title="Version"),
        alt.Tooltip("batch_number:Q", title="Batch"),
        alt.Tooltip("rows_scored:Q", title="Rows"),
        alt.Tooltip("accuracy:Q", title="Accuracy", format=".3f"),
        alt.Tooltip("baseline_accuracy:Q", title="Baseline", format=".3f"),
    ]
    accuracy = base.mark_line(point=True).encode(
        y=alt.Y("accuracy:Q", title="Accuracy", scale=alt.Scale(zero=False), axis=alt.Axis(format="%")),
        color=alt.value("#1f77b4"),
        tooltip=tooltip,
    )
    # One dashed segment per run of batches scored by one version (not joined across other versions' runs).
    baseline = base.mark_line(strokeDash=[6, 4], color="#d62728").encode(y="baseline_accuracy:Q", detail="segment:N", tooltip=tooltip)
    rules = alt.Chart(changes).mark_rule(color="gray", strokeDash=[2, 2]).encode(x=alt.X("measured_at:T", scale=UTC_SCALE))
    labels = (
        alt.Chart(changes.assign(label="v" + changes["model_version"].astype(str)))
        .mark_text(align="left", dx=3, dy=-6, color="gray", baseline="top")
        .encode(x=alt.X("measured_at:T", scale=UTC_SCALE), y=alt.value(0), text="label:N")
    )
    return alt.layer(accuracy, baseline, rules, labels).properties(height=260)


def drift_chart(features: pd.DataFrame) -> alt.Chart:
    """The PSI of each feature (feature_drift.statistic: one scale for every kind), one row of bars per source, drifted ones in red."""
    frame = features.assign(state=features["drifted"].map({True: "drifted", False: "not drifted"}))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("statistic:Q", title="PSI (size of the change)"),
            y=alt.Y("feature:N", title=None, sort="-x"),
            color=alt.Color("state:N", title=None, scale=alt.Scale(domain=["drifted", "not drifted"], range=["#d62728", "#8c8c8c"])),
            row=alt.Row("source:N", title=None),
            tooltip=[
                alt.Tooltip("source:N"),
                alt.Tooltip("feature:N"),
                alt.Tooltip("method:N"),
                alt.Tooltip("statistic:Q", title="PSI", format=".4f"),
                alt.Tooltip("p_value:Q", title="adjusted p-value", format=".4f"),
                alt.Tooltip("rows_compared:Q"),
            ],
        )
        .properties(height=alt.Step(16))
    )
