"""Addresses the UI needs, from the environment."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    inference_url: str
    airflow_ui_url: str
    mlflow_ui_url: str
    # One of inference's INFERENCE_API_KEYS, sent as a bearer token; empty: none.
    inference_api_key: str = ""

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            # Called by the Streamlit server, so a container-network address.
            inference_url=os.environ.get("UI_INFERENCE_URL", "http://inference:8989").rstrip("/"),
            # Opened by the person's browser, so host addresses.
            airflow_ui_url=os.environ.get("UI_AIRFLOW_URL", "http://localhost:8080"),
            mlflow_ui_url=os.environ.get("UI_MLFLOW_URL", "http://localhost:5000"),
            inference_api_key=os.environ.get("UI_INFERENCE_API_KEY", ""),
        )
