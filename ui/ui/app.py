"""Streamlit entry point: `streamlit run ui/app.py`."""

import requests
import streamlit as st

from ui.settings import Settings

settings = Settings.from_env()

st.set_page_config(page_title="MLOps platform", page_icon=":bar_chart:", layout="wide")
st.title("MLOps platform")

try:
    ready = requests.get(f"{settings.inference_url}/ready", timeout=5)
except requests.RequestException as exc:
    st.error(f"The inference service at {settings.inference_url} cannot be reached ({type(exc).__name__}). Is it running?")
else:
    body = ready.json()
    if body.get("ready"):
        st.success("Inference is ready: " + ", ".join(f"{n} v{v}" for n, v in body["loaded"].items()))
    else:
        missing = ", ".join(body.get("missing", {})) or "unknown"
        st.warning(f"Inference is up but has no production model loaded yet for: {missing}.")

st.markdown(f"[Airflow UI]({settings.airflow_ui_url}) · [MLflow UI]({settings.mlflow_ui_url})")
