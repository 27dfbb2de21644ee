"""Failures of inference as messages for people: st.error / st.warning, never a traceback."""

from __future__ import annotations

import re

import streamlit as st

from ui.feature_spec import FeatureSpec
from ui.inference_client import (
    FieldProblem,
    InferenceError,
    InferenceUnreachable,
    InputRejected,
    ModelNotReady,
    NotFound,
)

# Characters that would change how a sentence renders mid-line (emphasis, code,
# links, HTML, LaTeX, strike-through, tables). Not "_": CommonMark does not
# emphasise inside words, and feature names are full of underscores.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>$~|])")


def plain(text: object) -> str:
    """Text shown literally inside Markdown (no accidental emphasis, links or LaTeX)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def field_label(field: str, spec: FeatureSpec | None) -> str:
    feature = spec.feature(field) if spec else None
    return f"{feature.label} (`{field}`)" if feature else f"`{field}`"


def problem_lines(problems: list[FieldProblem], spec: FeatureSpec | None) -> str:
    return "\n".join(f"- **{field_label(p.field, spec)}**: {plain(p.reason)}" for p in problems)


def show_rejection(exc: InputRejected, spec: FeatureSpec | None) -> None:
    st.error("The model refused this input:\n\n" + problem_lines(exc.problems, spec))


def show_inference_error(exc: InferenceError, doing: str, spec: FeatureSpec | None = None) -> None:
    """One message for a failed call; `doing` says what was being done ("predicting")."""
    if isinstance(exc, InputRejected):
        show_rejection(exc, spec)
    elif isinstance(exc, ModelNotReady):
        st.warning(
            f"{plain(exc)}\n\n"
            "The model cannot answer yet. Once a training run in Airflow has registered a version "
            "and promoted it to production, it answers here."
        )
    elif isinstance(exc, NotFound):
        st.error(f"Inference does not know what was asked while {doing}: {plain(exc)}")
    elif isinstance(exc, InferenceUnreachable):
        st.error(plain(exc))
    else:
        st.error(f"Something went wrong while {doing}: {plain(exc)}")
