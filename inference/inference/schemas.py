"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Prediction(BaseModel):
    label: Any = Field(description="Predicted class label")
    label_name: str = Field(description="The class in words")
    confidence: float = Field(description="Probability of the predicted class")
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



# The original clients' answers (see inference.original_clients).


class PenguinPrediction(BaseModel):
    species: str = Field(description="Predicted species, e.g. Adelie")
    confidence: float = Field(description="Probability of the predicted species")
    probabilities: dict[str, float] = Field(description="Probability of every species")
    model: str
    version: str


class PenguinBatchResponse(BaseModel):
    model: str
    version: str
    predictions: list[PenguinPrediction] = Field(description="One answer per penguin, in request order")


class CovertypePrediction(BaseModel):
    prediction: int = Field(description="Predicted cover type")
    label_name: str = Field(description="The cover type in words")
    confidence: float = Field(description="Probability of the predicted cover type")
    probabilities: dict[str, float] = Field(description="Probability of every cover type")
    model: str
    version: str
    actual: Any = Field(None, description="The cover type sent as the row's last value (not used to predict)")


class ModelInfo(BaseModel):
    name: str
    version: str
    aliases: list[str]
    family: str | None = Field(description="Model family, e.g. random_forest")
    hyperparameters: dict[str, str]
    metrics: dict[str, float] = Field(description="Metrics of the training run that produced the version")
    trained_at: str | None
    registered_at: str | None
    dag_id: str | None = Field(description="Airflow DAG that trained it")
    dag_run_id: str | None = Field(description="Airflow DAG run that trained it")
    run_id: str | None = Field(description="MLflow run")
    target: str
    classes: list[Any]
    features: list[dict[str, Any]] = Field(description="Each feature with its type and allowed values or range")
