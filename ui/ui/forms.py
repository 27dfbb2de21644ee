"""From a feature spec to form widgets, and from their values to a JSON row.

Widget keys are stable (`feature_<name>`) so a browser test can find a field
by the CSS class Streamlit gives it: `st-key-feature_<name>`.
"""

from __future__ import annotations

import math
import re
from typing import Any

import streamlit as st

from ui.feature_spec import Feature, FeatureSpec

FORM_KEY = "predict_form"
SUBMIT_KEY = "predict_button"
SUBMIT_LABEL = "Predict"
# What a select box of a nullable field shows for "not recorded" (sent as null).
UNKNOWN_LABEL = "unknown"
COLUMNS = 3


def widget_key(feature: Feature) -> str:
    return "feature_" + re.sub(r"[^A-Za-z0-9_-]", "_", feature.name)


def unknown_label(feature: Feature) -> str:
    """The select box choice that sends null: "unknown" (or "(unknown)" should that be a category)."""
    return UNKNOWN_LABEL if UNKNOWN_LABEL not in feature.categories else f"({UNKNOWN_LABEL})"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bounds(feature: Feature) -> tuple[Any, Any]:
    """min/max of the number input, of the widget's type (int for integer features)."""
    low, high = feature.minimum, feature.maximum
    if feature.is_integer:
        return (None if low is None else math.ceil(low)), (None if high is None else math.floor(high))
    return (None if low is None else float(low)), (None if high is None else float(high))


def default_value(feature: Feature, example: dict[str, Any] | None) -> Any:
    """The field's first value: the model's input example if it fits the spec, else a valid one.

    None (unknown) only for nullable features whose example is null.
    """
    example = example or {}
    value = example.get(feature.name)
    example_says_unknown = feature.nullable and feature.name in example and value is None
    if feature.is_categorical:
        if value is not None and str(value) in feature.categories:
            return str(value)
        if example_says_unknown or not feature.categories:
            return None
        return feature.categories[0]
    low, high = _bounds(feature)
    if value is not None and _is_number(value):
        number = float(value)
    elif example_says_unknown:
        return None
    elif low is not None and high is not None:
        number = (low + high) / 2
    else:
        number = low if low is not None else (high if high is not None else 0.0)
    if low is not None:
        number = max(number, low)
    if high is not None:
        number = min(number, high)
    return int(round(number)) if feature.is_integer else float(number)


def number_step(feature: Feature) -> int | float:
    """1 for integers; else a power of ten about a hundredth of the valid range."""
    if feature.is_integer:
        return 1
    decimals = number_decimals(feature)
    return 1.0 if decimals == 0 else 10.0**-decimals


def number_decimals(feature: Feature) -> int:
    if feature.is_integer:
        return 0
    low, high = feature.minimum, feature.maximum
    if low is None or high is None or high <= low:
        return 2
    return max(0, min(6, 2 - math.floor(math.log10(high - low))))


def to_json_row(spec: FeatureSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Widget values as the JSON row inference expects: ints for integer features,
    floats for numbers, strings for categories, null for unknown."""
    row: dict[str, Any] = {}
    for feature in spec.features:
        value = values.get(feature.name)
        if value is None:
            row[feature.name] = None
        elif feature.is_categorical:
            row[feature.name] = str(value)
        elif feature.is_integer and float(value).is_integer():
            row[feature.name] = int(value)
        else:
            row[feature.name] = float(value)
    return row


def _widget(feature: Feature, default: Any) -> Any:
    key = widget_key(feature)
    if feature.is_categorical:
        unknown = unknown_label(feature)
        options = list(feature.categories) + ([unknown] if feature.nullable else [])
        shown = unknown if default is None else default
        value = st.selectbox(
            feature.label,
            options,
            index=options.index(shown) if shown in options else 0,
            key=key,
            help=feature.help,
        )
        return None if feature.nullable and value == unknown else value
    low, high = _bounds(feature)
    decimals = number_decimals(feature)
    return st.number_input(
        feature.label,
        min_value=low,
        max_value=high,
        value=default,
        step=number_step(feature),
        format="%d" if feature.is_integer else f"%.{decimals}f",
        key=key,
        help=feature.help,
        placeholder=UNKNOWN_LABEL if feature.nullable else None,
    )


def render_form(spec: FeatureSpec, example: dict[str, Any] | None) -> dict[str, Any] | None:
    """The prediction form; returns the JSON row when Predict was pressed, else None."""
    with st.form(FORM_KEY):
        columns = st.columns(COLUMNS)
        values = {}
        for i, feature in enumerate(spec.features):
            with columns[i % COLUMNS]:
                values[feature.name] = _widget(feature, default_value(feature, example))
        submitted = st.form_submit_button(SUBMIT_LABEL, type="primary", key=SUBMIT_KEY)
    return to_json_row(spec, values) if submitted else None
