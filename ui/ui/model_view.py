"""The Model tab: the production version's quality (live on labelled rows it did not train on where
there are any, its test scores named as such), production and challenger side by side with their paired
comparison, the metrics of the chosen version, the registered versions, the history of its aliases, and
links to the Airflow and MLflow UIs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import pandas as pd
import streamlit as st

from ui import monitoring_data as data
from ui.inference_client import AliasMove, InferenceClient, InferenceError, ModelDetail, ModelSummary
from ui.monitoring_data import LiveAccuracy
from ui.settings import Settings

AIRFLOW_LINK_KEY = "link_airflow"
MLFLOW_LINK_KEY = "link_mlflow"
HEADLINE_KEY = "model_headline"
METRICS_KEY = "model_metrics"
VERSIONS_KEY = "model_versions"
HISTORY_KEY = "model_history"
HISTORY_ROWS = 20
COMPARISON_KEY = "model_comparison"
RECOMMENDATION_KEY = "model_recommendation"
# How inference learned of a move, in words.
MOVE_PATHS = {"webhook": "MLflow's webhook", "poll": "registry poll", "rollback": "rollback"}
# Metrics of a version's run that this tab reads (contract/conventions.json "version_metrics").
CV_ACCURACY_MEAN, CV_ACCURACY_STD = "cv_accuracy_mean", "cv_accuracy_std"
TEST_ACCURACY, TEST_F1_MACRO, TEST_ROWS = "test_accuracy", "test_f1_macro", "test_rows"
# Shown as headline numbers when present, beside live accuracy; every metric is in the table.
HEADLINE_METRICS = (TEST_ACCURACY, TEST_F1_MACRO)
LIVE_ACCURACY = "Live accuracy"


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
        table[column] = [_number(int(d.metrics[n]) if n == TEST_ROWS and n in d.metrics else d.metrics.get(n, "")) for n in names]
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


def test_rows_note(detail: ModelDetail) -> str:
    rows = detail.metrics.get(TEST_ROWS)
    counted = f"{int(rows):,} rows" if isinstance(rows, float) and math.isfinite(rows) else "rows not recorded"
    return f"Test scores: one split held out at registration ({counted}), not live quality."


def live_note(live: LiveAccuracy) -> str:
    return f"Live accuracy: {live.rows:,} labelled rows it did not train on, over {live.batches} batches."


def _cv(detail: ModelDetail | None) -> str:
    if detail is None or CV_ACCURACY_MEAN not in detail.metrics:
        return ""
    return f"{detail.metrics[CV_ACCURACY_MEAN]:.4f} ± {detail.metrics.get(CV_ACCURACY_STD, float('nan')):.4f}"


def _test(detail: ModelDetail | None) -> str:
    if detail is None or TEST_ACCURACY not in detail.metrics:
        return ""
    rows = detail.metrics.get(TEST_ROWS)
    return f"{detail.metrics[TEST_ACCURACY]:.4f}" + (f" ({int(rows):,} rows)" if rows is not None else "")


def comparison_table(
    comparison: dict, production: ModelDetail | None, challenger: ModelDetail | None, live: dict[str, LiveAccuracy | None]
) -> pd.DataFrame:
    """Production and challenger side by side: what chose each, its test score, live accuracy, and both on the paired rows."""
    rows = int(comparison["rows_compared"])
    versions = (str(comparison["production_version"]), str(comparison["challenger_version"]))

    def live_text(version: str) -> str:
        found = live.get(version)
        return f"{found.accuracy:.4f} ({found.rows:,} rows)" if found else "not scored yet"

    return pd.DataFrame(
        {
            f"production v{versions[0]}": [
                _cv(production),
                _test(production),
                live_text(versions[0]),
                f"{comparison['production_accuracy']:.4f}",
                f"{comparison['production_f1_macro']:.4f}",
            ],
            f"challenger v{versions[1]}": [
                _cv(challenger),
                _test(challenger),
                live_text(versions[1]),
                f"{comparison['challenger_accuracy']:.4f}",
                f"{comparison['challenger_f1_macro']:.4f}",
            ],
        },
        index=[
            "CV accuracy (mean ± std, training split)",
            "Test accuracy (its own split)",
            "Live accuracy (its scored batches)",
            f"Accuracy on the {rows:,} paired rows",
            f"Macro-F1 on the {rows:,} paired rows",
        ],
    )


def difference_line(comparison: dict) -> str:
    """The paired difference with its interval, rows and test: one line."""
    return (
        f"Challenger − production on {int(comparison['rows_compared']):,} rows neither trained on "
        f"({int(comparison['batches'])} batches, {int(comparison['rows_excluded']):,} rows left out as seen): accuracy "
        f"{comparison['accuracy_diff'] * 100:+.2f} points, 95 % CI [{comparison['accuracy_ci_low'] * 100:+.2f}, "
        f"{comparison['accuracy_ci_high'] * 100:+.2f}] (McNemar p = {comparison['mcnemar_p']:.3g}); macro-F1 "
        f"{comparison['f1_macro_diff'] * 100:+.2f} points. Recommendation: **{comparison['recommendation']}**."
    )


def partial_grid_warning(detail: ModelDetail) -> str:
    return (
        f"Version {detail.version} was chosen from a partial grid: {detail.candidates_evaluated} of "
        f"{detail.candidates_total} candidates were evaluated (the others' training tasks failed for good)."
    )


@dataclass(frozen=True)
class Evidence:
    """What the monitoring tables say of the production version and its challenger (None: nothing, or unreadable)."""

    live: dict[str, LiveAccuracy | None]  # version -> its accuracy over the batches it scored
    comparison: dict | None  # challenger_comparison's row for the production version
    challenger: ModelDetail | None  # the challenger's metrics, from inference
    unavailable: str | None = None  # why the tables could not be read


CACHE_SECONDS = 30  # as the Monitoring tab: Streamlit reruns the script on every interaction


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _live(db_url: str, model_name: str, version: str) -> LiveAccuracy | None:
    return data.live_accuracy(data.engine_for(db_url), model_name, version)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _comparison(db_url: str, model_name: str, production_version: str) -> dict | None:
    return data.comparison(data.engine_for(db_url), model_name, production_version)


def load_evidence(client: InferenceClient, model_name: str, production: ModelDetail, settings: Settings) -> Evidence:
    """Live accuracy and the comparison from the monitoring tables (the UI's read-only user), the challenger from inference."""
    db_url = settings.monitor_db_sqlalchemy_url()
    try:
        comparison = _comparison(db_url, model_name, production.version)
        versions = [production.version] + ([comparison["challenger_version"]] if comparison else [])
        live = {v: _live(db_url, model_name, v) for v in versions}
    except data.SourceUnavailable as exc:
        return Evidence({}, None, None, unavailable=str(exc))
    challenger = None
    if comparison is not None:
        try:
            challenger = client.model_detail(model_name, comparison["challenger_version"])
        except InferenceError:
            challenger = None  # its CV and test columns stay empty
    return Evidence(live, comparison, challenger)


def render_headline(production: ModelDetail, evidence: Evidence) -> None:
    live = evidence.live.get(production.version)
    shown = [(LIVE_ACCURACY, f"{live.accuracy:.4f}")] if live else []
    shown += [(metric_label(m), _number(production.metrics[m])) for m in HEADLINE_METRICS if m in production.metrics]
    if not shown:
        return
    with st.container(key=HEADLINE_KEY):
        for column, (label, value) in zip(st.columns(len(shown)), shown):
            column.metric(label, value)
    st.caption(" ".join(([live_note(live)] if live else []) + [test_rows_note(production)]))


def render_comparison(production: ModelDetail, evidence: Evidence) -> None:
    st.markdown("**Production and challenger**")
    if evidence.unavailable:
        st.caption(f"The comparison cannot be read now: {evidence.unavailable}")
        return
    comparison = evidence.comparison
    if comparison is None:
        st.caption(f"No challenger has been compared with production version {production.version} yet.")
        return
    with st.container(key=COMPARISON_KEY):
        # A static table: read as text (in a browser too), not a grid drawn on a canvas.
        st.table(comparison_table(comparison, production, evidence.challenger, evidence.live))
    with st.container(key=RECOMMENDATION_KEY):
        st.markdown(difference_line(comparison))
        st.info(str(comparison["sentence"]))


def render(
    model: ModelSummary,
    production: ModelDetail | None,
    chosen: ModelDetail | None,
    settings: Settings,
    history: list[AliasMove] | None = None,
    evidence: Evidence | None = None,
) -> None:
    evidence = evidence or Evidence({}, None, None)
    st.subheader(model.name)
    if production is not None:
        st.markdown(f"Production version: **{production.version}**")
        if production.partial_grid:
            st.warning(partial_grid_warning(production), icon="⚠️")
        render_headline(production, evidence)
        render_comparison(production, evidence)
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
            # A static table, read as text in a browser too; the newest moves (inference answers them all).
            st.table(history_table(history[:HISTORY_ROWS]).set_index("when (UTC)"))
        st.caption("Every move of this model's aliases, newest first. `./scripts/rollback.sh MODEL` puts production back.")
    else:
        st.caption("No move recorded yet." if history is not None else "The alias history cannot be read now.")
    st.markdown("**Pipelines and registry**")
    mlflow_model = f"{settings.mlflow_url}/#/models/{quote(model.name)}"
    left, right = st.columns(2)
    left.link_button("Open Airflow (training pipelines)", settings.airflow_url, key=AIRFLOW_LINK_KEY)
    right.link_button("Open MLflow (runs and registry)", mlflow_model, key=MLFLOW_LINK_KEY)
    st.caption(f"Airflow: {settings.airflow_url} · MLflow: {settings.mlflow_url}")
