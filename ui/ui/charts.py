"""The chart of a prediction: every class's probability, classes in words."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ui.feature_spec import FeatureSpec
from ui.inference_client import Prediction


def probability_frame(prediction: Prediction, spec: FeatureSpec) -> pd.DataFrame:
    """One line per class in the spec's order (then any other label answered): name and probability."""
    labels = [str(c) for c in spec.classes]
    labels += [label for label in prediction.probabilities if label not in labels]
    return pd.DataFrame(
        {
            "class": [spec.class_name(label) for label in labels],
            "probability": [float(prediction.probabilities.get(label, 0.0)) for label in labels],
        }
    )


def probability_chart(frame: pd.DataFrame) -> alt.Chart:
    order = frame["class"].tolist()
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", title="Probability", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("class:N", title=None, sort=order),
            tooltip=[alt.Tooltip("class:N", title="Class"), alt.Tooltip("probability:Q", title="Probability", format=".1%")],
        )
    )
    text = bars.mark_text(align="left", dx=3).encode(text=alt.Text("probability:Q", format=".1%"))
    return (bars + text).properties(height=alt.Step(28))
