"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Prediction(BaseModel):
    label: Any = Field(description="Predicted class label")
    label_name: str = Field(description="The class in words")
    probabilities: dict[str, float] = Field(description="Probability of every class, by label")


class PredictResponse(BaseModel):
    model: str
    version: str
    predictions: list[Prediction]


class FieldProblem(BaseModel):
    field: str
    reason: str
    row: int | None = None


class ValidationProblem(BaseModel):
    detail: list[FieldProblem] | str


class Problem(BaseModel):
    detail: str


PREDICT_BODY_EXAMPLES = {
    "one row": {"summary": "One row of raw features", "value": {"island": "Biscoe", "bill_length_mm": 45.2, "bill_depth_mm": 15.8, "flipper_length_mm": 215, "body_mass_g": 5300, "sex": "male"}},
    "batch": {"summary": "Several rows", "value": {"rows": [{"island": "Dream", "bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181, "body_mass_g": 3750, "sex": "female"}]}},
}
