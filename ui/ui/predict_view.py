"""The Predict tab: the form built from the model's feature spec, and its answer."""

from __future__ import annotations

import streamlit as st

from ui import charts, forms
from ui.inference_client import InferenceClient, InferenceError, ModelDetail, PredictionResult
from ui.messages import plain, show_inference_error
from ui.sidebar import VersionChoice

RESULT_KEY = "prediction_result"


def predicted_text(result: PredictionResult) -> str:
    return f"Predicted: {result.predictions[0].label_name}"


def answered_by_text(result: PredictionResult) -> str:
    return f"Answered by {result.model} version {result.version}"


def render(client: InferenceClient, detail: ModelDetail, choice: VersionChoice) -> None:
    spec = detail.spec
    if spec.description:
        st.caption(plain(spec.description))
    row = forms.render_form(spec, detail.input_example[0] if detail.input_example else None)
    # The last answer stays on the page across reruns, per model and version.
    state_key = f"{RESULT_KEY}::{detail.name}::{choice.label}"
    if row is not None:
        st.session_state.pop(state_key, None)
        try:
            st.session_state[state_key] = client.predict(detail.name, row, choice.version, choice.alias)
        except InferenceError as exc:
            show_inference_error(exc, "predicting", spec)
    result: PredictionResult | None = st.session_state.get(state_key)
    if result is not None and result.predictions:
        show_result(result, detail)


def show_result(result: PredictionResult, detail: ModelDetail) -> None:
    prediction = result.predictions[0]
    with st.container(key=RESULT_KEY, border=True):
        st.subheader(plain(predicted_text(result)))
        st.markdown(f"Confidence: **{prediction.confidence:.1%}**")
        frame = charts.probability_frame(prediction, detail.spec)
        st.altair_chart(charts.probability_chart(frame), width="stretch")
        st.caption(plain(answered_by_text(result)))
