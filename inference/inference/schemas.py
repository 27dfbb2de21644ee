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

