"""Streamlit entry point: `streamlit run ui/app.py` (port 8503 in the stack).

Thin on purpose: which model and version (sidebar), then four tabs. The
feature spec, versions and metrics all come from inference at run time.
"""

# `streamlit run ui/app.py` puts this file's folder on sys.path, not the one holding
# the `ui` package: the image sets PYTHONPATH=/app, a checkout installs the package
# (`pip install -e ui`).
import streamlit as st

from ui import batch_view, model_view, monitoring_view, predict_view, sidebar
from ui.inference_client import AliasMove, InferenceClient, InferenceError, ModelDetail
from ui.messages import plain, show_inference_error
from ui.settings import Settings

settings = Settings()
st.set_page_config(page_title="MLOps platform", page_icon=":bar_chart:", layout="wide")
st.title("MLOps platform")
client = InferenceClient(settings.inference_url, api_key=settings.inference_api_key)

try:
    models = client.models()
except InferenceError as exc:
    show_inference_error(exc, "listing the models")
    sidebar.render_links(settings)
    st.button("Try again", key="retry")
    st.stop()
if not models:
    st.warning("Inference serves no model: check its INFERENCE_MODELS setting.")
    sidebar.render_links(settings)
    st.stop()

model, choice = sidebar.render(models)
sidebar.render_links(settings)

if choice is None:
    st.warning(
        f"{model.name} has no registered version yet: nothing can predict {model.dataset} until its "
        "training pipeline in Airflow has registered one and promoted it to production."
    )
elif model.production_version is None:
    st.warning(
        f"{model.name} has no production version yet. Once a training run in Airflow promotes a version to "
        f"production, it answers by default; meanwhile {plain(choice.label)} answers, as chosen in the sidebar."
    )

detail: ModelDetail | None = None
production: ModelDetail | None = None
if choice is not None:
    try:
        detail = client.model_detail(model.name, choice.version, choice.alias)
    except InferenceError as exc:
        show_inference_error(exc, f"reading {model.name} ({choice.label})")
    if choice.is_production:
        production = detail
    elif model.production_version is not None:
        try:
            production = client.model_detail(model.name)
        except InferenceError:
            production = None  # the Model tab says its metrics cannot be read

predict_tab, batch_tab, model_tab, monitoring_tab = st.tabs(["Predict", "Batch", "Model", "Monitoring"])
with predict_tab:
    if detail is not None and choice is not None:
        predict_view.render(client, detail, choice)
    else:
        st.info("Nothing can be predicted until the model can answer (see above).")
with batch_tab:
    if detail is not None and choice is not None:
        batch_view.render(client, detail, choice)
    else:
        st.info("Nothing can be predicted until the model can answer (see above).")
with model_tab:
    history: list[AliasMove] | None
    try:
        history = client.history(model.name)
    except InferenceError:
        history = None  # the Model tab says it cannot be read
    evidence = model_view.load_evidence(client, model.name, production, settings) if production is not None else None
    model_view.render(model, production, detail, settings, history, evidence)
with monitoring_tab:
    monitoring_view.render(model, settings)
