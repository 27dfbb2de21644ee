"""The Batch tab: a CSV in, a table of predictions out (and the rows that could not be predicted)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import batch
from ui.inference_client import InferenceClient, InferenceError, InputRejected, ModelDetail
from ui.messages import plain, show_inference_error
from ui.sidebar import VersionChoice

UPLOAD_KEY = "batch_file"
DOWNLOAD_KEY = "batch_download"
TEMPLATE_KEY = "batch_template"
RESULTS_KEY = "batch_results"
REJECTED_KEY = "batch_rejected"
# The last file's outcome, so reruns (other widgets, downloads) do not predict it again.
CACHE_KEY = "batch_cache"


def template_csv(detail: ModelDetail) -> bytes:
    """A file to start from: the header, and the model's input example as rows."""
    rows = detail.input_example or [{}]
    return batch.to_csv_bytes(pd.DataFrame(rows, columns=detail.spec.names))


def render(client: InferenceClient, detail: ModelDetail, choice: VersionChoice) -> None:
    spec = detail.spec
    st.markdown(
        "Upload a CSV file with one row per prediction. Its header names the features: "
        + ", ".join(f"`{name}`" for name in spec.names)
        + ". Other columns (an id, say) are kept as they are in the results. "
        "Leave a cell empty for a value that is not known."
    )
    st.download_button(
        "Download a template CSV",
        template_csv(detail),
        file_name=f"{spec.dataset or detail.name}-template.csv",
        mime="text/csv",
        key=TEMPLATE_KEY,
        on_click="ignore",
    )
    uploaded = st.file_uploader("CSV file", type=["csv"], key=UPLOAD_KEY)
    if uploaded is None:
        return
    data = uploaded.getvalue()
    cache_id = (uploaded.file_id, uploaded.name, len(data), detail.name, detail.version, choice.label)
    cached = st.session_state.get(CACHE_KEY)
    if cached is not None and cached[0] == cache_id:
        parsed, outcome = cached[1], cached[2]
    else:
        st.session_state.pop(CACHE_KEY, None)
        try:
            parsed = batch.parse_csv(data, spec)
        except batch.CsvError as exc:
            st.error(f"{plain(uploaded.name)} cannot be used: {plain(exc)}")
            return
        try:
            with st.spinner(f"Predicting {len(parsed.rows)} rows…"):
                outcome = batch.predict_rows(
                    lambda rows: client.predict_batch(detail.name, rows, choice.version, choice.alias), parsed.rows
                )
        except InputRejected as exc:
            st.error("Inference refused the file as a whole: " + "; ".join(f"{p.field}: {plain(p.reason)}" for p in exc.problems))
            return
        except InferenceError as exc:
            show_inference_error(exc, "predicting the file", spec)
            return
        st.session_state[CACHE_KEY] = (cache_id, parsed, outcome)
    show_outcome(parsed, outcome, detail)


def show_outcome(parsed: batch.ParsedCsv, outcome: batch.BatchOutcome, detail: ModelDetail) -> None:
    predicted = len(outcome.predictions)
    rejected = batch.rejected_table(parsed, outcome)
    not_predicted = rejected["row"].nunique() if len(rejected) else 0
    by = f" by {outcome.model} version {outcome.version}" if outcome.model else ""
    if predicted and not not_predicted:
        st.success(f"All {predicted} rows predicted{by}.")
    elif predicted:
        st.warning(f"{predicted} of {parsed.total_rows} rows predicted{by}; {not_predicted} could not be, listed below with the reason.")
    else:
        st.error(f"None of the {parsed.total_rows} rows could be predicted; the reasons are listed below.")
    if parsed.ignored_columns:
        st.caption("Kept as they are (not features): " + ", ".join(f"`{c}`" for c in parsed.ignored_columns))
    if predicted:
        results = batch.results_table(parsed, outcome, detail.spec)
        with st.container(key=RESULTS_KEY):
            st.dataframe(results, hide_index=True)
        st.download_button(
            "Download predictions (CSV)",
            batch.to_csv_bytes(results),
            file_name=f"{detail.spec.dataset or detail.name}-predictions.csv",
            mime="text/csv",
            key=DOWNLOAD_KEY,
            on_click="ignore",
            type="primary",
        )
    if not_predicted:
        st.subheader("Rows not predicted")
        with st.container(key=REJECTED_KEY):
            st.dataframe(rejected, hide_index=True)
