"""The Model tab: metrics of the production version (and of the chosen one), the
registered versions, the history of its aliases, and links to the Airflow and MLflow UIs."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from urllib.parse import quote

import pandas as pd
import streamlit as st

from ui.inference_client import AliasMove, ModelDetail, ModelSummary
from ui.settings import Settings

AIRFLOW_LINK_KEY = "link_airflow"
MLFLOW_LINK_KEY = "link_mlflow"
METRICS_KEY = "model_metrics"
VERSIONS_KEY = "model_versions"
HISTORY_KEY = "model_history"
# How inference learned of a move, in words.
MOVE_PATHS = {"webhook": "MLflow's webhook", "poll": "registry poll", "rollback": "rollback"}
# Shown as headline numbers when present; every metric is in the table. The names
# the training DAGs log for each candidate on its test split (accuracy, f1_macro,
# log_loss, fit_time_s).
HEADLINE_METRICS = ("accuracy", "f1_macro")


ACRONYMS = {"f1": "F1", "cv": "CV", "auc": "AUC", "roc": "ROC", "mae": "MAE", "rmse": "RMSE"}


def metric_label(name: str) -> str:
    """f1_macro -> "F1 macro", fit_time_s -> "Fit time s"."""
    words = [ACRONYMS.get(w.lower(), w) for w in name.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _number(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) and math.isfinite(value) else str(value)


def metrics_table(production: ModelDetail | None, chosen: ModelDetail | None) -> pd.DataFrame:
    """Metric by metric: production's value, and the chosen version's when it is another one."""
    details = [d for d in (production, chosen) if d is not None]
    if production is not None and chosen is not None and chosen.version == production.version:
        details = [production]
    names = sorted({name for d in details for name in d.metrics})
    table = {"metric": [metric_label(n) for n in names]}
    for d in details:
        column = f"version {d.version}" + (" (production)" if d is production else "")
        table[column] = [_number(d.metrics.get(n, "")) for n in names]
    return pd.DataFrame(table)


def versions_table(model: ModelSummary) -> pd.DataFrame:
    def created(at: float | None) -> str:
        if not at:
            return ""
        # MLflow gives milliseconds since the epoch.
        seconds = at / 1000 if at > 1e11 else at
        return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")

    return pd.DataFrame(
        [
            {
                "version": v.version,
                "aliases": ", ".join(v.aliases),
                "created": created(v.created_at),
                "loaded by inference": "yes" if v.version in model.loaded_versions else "",
                "run id": v.run_id or "",
            }
            for v in model.versions
        ],
        columns=["version", "aliases", "created", "loaded by inference", "run id"],
    )


def history_table(moves: list[AliasMove]) -> pd.DataFrame:
    """Newest first: when (UTC), which alias, from and to which version, how it was learned."""
    return pd.DataFrame(
        [
            {
                "when (UTC)": m.moved_at.replace("T", " ")[:19],
                "alias": m.alias,
                "from": m.from_version or "–",
                "to": m.to_version or "removed",
                "through": MOVE_PATHS.get(m.path, m.path),
            }
            for m in moves
        ],
        columns=["when (UTC)", "alias", "from", "to", "through"],
    )


def partial_grid_warning(detail: ModelDetail) -> str:
    return (
        f"Version {detail.version} was chosen from a partial grid: {detail.candidates_evaluated} of "
        f"{detail.candidates_total} candidates were evaluated (the others' training tasks failed for good)."
    )


def render(
    model: ModelSummary,
    production: ModelDetail | None,
    chosen: ModelDetail | None,
    settings: Settings,
    history: list[AliasMove] | None = None,
) -> None:
    st.subheader(model.name)
    if production is not None:
        st.markdown(f"Production version: **{production.version}**")
        if production.partial_grid:
            st.warning(partial_grid_warning(production), icon="⚠️")
        shown = [m for m in HEADLINE_METRICS if m in production.metrics]
        if shown:
            for column, name in zip(st.columns(len(shown)), shown):
                column.metric(metric_label(name), _number(production.metrics[name]))
    elif model.production_version is None:
        st.info(f"{model.name} has no production version yet, so there are no production metrics to show.")
    else:
        st.info(f"The metrics of production version {model.production_version} cannot be read now.")
    table = metrics_table(production, chosen)
    if len(table):
        with st.container(key=METRICS_KEY):
            st.dataframe(table, hide_index=True)
    st.markdown("**Registered versions**")
    if model.versions:
        with st.container(key=VERSIONS_KEY):
            st.dataframe(versions_table(model), hide_index=True)
    else:
        st.caption("None yet.")
    st.markdown("**Alias history**")
    if history:
        with st.container(key=HISTORY_KEY):
            st.dataframe(history_table(history), hide_index=True)
        st.caption("Every move of this model's aliases, newest first. `./scripts/rollback.sh MODEL` puts production back.")
    else:
        st.caption("No move recorded yet." if history is not None else "The alias history cannot be read now.")
    st.markdown("**Pipelines and registry**")
    mlflow_model = f"{settings.mlflow_url}/#/models/{quote(model.name)}"
    left, right = st.columns(2)
    left.link_button("Open Airflow (training pipelines)", settings.airflow_url, key=AIRFLOW_LINK_KEY)
    right.link_button("Open MLflow (runs and registry)", mlflow_model, key=MLFLOW_LINK_KEY)
    st.caption(f"Airflow: {settings.airflow_url} · MLflow: {settings.mlflow_url}")
