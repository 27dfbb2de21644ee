"""The sidebar: which dataset's model, and which of its versions, answers."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui.inference_client import ModelSummary
from ui.settings import Settings

DATASET_KEY = "dataset"
VERSION_KEY = "model_version"
PRODUCTION = "production"


@dataclass(frozen=True)
class VersionChoice:
    """What the sidebar's version box means: production (no query), an alias or a version."""

    label: str
    version: str | None = None
    alias: str | None = None

    @property
    def is_production(self) -> bool:
        return self.version is None and self.alias is None


def version_choices(model: ModelSummary) -> list[VersionChoice]:
    """Production first (when there is one), then the other aliases, then every version, newest first."""
    choices = []
    if model.production_version is not None:
        choices.append(VersionChoice(f"{PRODUCTION} (version {model.production_version})"))
    for alias, version in sorted(model.aliases.items()):
        if alias != PRODUCTION:
            choices.append(VersionChoice(f"{alias} (version {version})", alias=alias))
    for info in model.versions:
        tags = f" ({', '.join(info.aliases)})" if info.aliases else ""
        choices.append(VersionChoice(f"version {info.version}{tags}", version=info.version))
    return choices


def render_links(settings: Settings) -> None:
    st.sidebar.markdown(f"[Airflow UI]({settings.airflow_url}) · [MLflow UI]({settings.mlflow_url})")


def render(models: list[ModelSummary]) -> tuple[ModelSummary, VersionChoice | None]:
    """The chosen model and version (None when the model has no version at all)."""
    sidebar = st.sidebar
    sidebar.header("Model")
    by_dataset = {m.dataset: m for m in models}
    dataset = sidebar.selectbox(
        "Dataset",
        list(by_dataset),
        key=DATASET_KEY,
        format_func=lambda d: d.capitalize(),
        help="Each dataset has its own model, trained by its Airflow pipeline.",
        # Another dataset is another model: start again from its production version,
        # even where a label such as "version 2" exists for both.
        on_change=lambda: st.session_state.pop(VERSION_KEY, None),
    )
    model = by_dataset[dataset]
    choices = version_choices(model)
    choice = None
    if choices:
        labels = [c.label for c in choices]
        label = sidebar.selectbox(
            "Model version",
            labels,
            key=VERSION_KEY,
            help="Production answers by default; any other registered version or alias can answer instead.",
        )
        choice = choices[labels.index(label)]
    sidebar.caption(f"Registered model `{model.name}`")
    if model.state_detail:
        sidebar.caption(f"Inference: {model.state_detail}")
    return model, choice
