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


class ErrorItem(BaseModel):
    """FastAPI's validation error item, extended with the row index (see inference.errors)."""

    type: str = Field(description="Kind of problem: missing, extra_forbidden, value_error, not_found, unavailable, ...")
    loc: list[str | int] = Field(description='Where: e.g. ["body", "rows", 2, "island"], ["query", "version"]')
    msg: str = Field(description="The reason, for people")
    row: int | None = Field(None, description="Index of the offending row in a batch")


class ErrorResponse(BaseModel):
    detail: list[ErrorItem]


class Health(BaseModel):
    status: str


class ModelStatus(BaseModel):
    version: str | None = Field(description="The production version loaded, if any")
    state: str = Field(description="ready, starting, no_production_version, registry_unreachable or load_failed")
    detail: str
    checked_at: float | None


class Readiness(BaseModel):
    ready: bool
    models: dict[str, ModelStatus]


class VersionSummary(BaseModel):
    version: str
    aliases: list[str]
    run_id: str | None
    status: str | None
    created_at: int | None


class ServedModel(BaseModel):
    name: str
    dataset: str
    production_version: str | None
    aliases: dict[str, str]
    versions: list[VersionSummary]
    loaded_versions: list[str]
    status: dict[str, Any]


class ModelList(BaseModel):
    models: list[ServedModel]


class GridCoverage(BaseModel):
    """How much of its training grid a version's candidate was chosen from (the version's tags)."""

    candidates_evaluated: int
    candidates_total: int
    partial: bool = Field(description="Some candidates were never evaluated (their tasks failed for good)")


class ModelDetail(BaseModel):
    name: str
    version: str
    run_id: str | None
    metrics: dict[str, float]
    signature: dict[str, Any] | None
    feature_spec: dict[str, Any]
    input_example: list[dict[str, Any]]
    classes: list[Any]
    fast_path: bool = Field(description="Whether the compiled path serves it (else the scikit-learn pipeline)")
    grid: GridCoverage | None = Field(
        None, description="Candidates evaluated of the grid; None for versions trained before it was recorded"
    )


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


# Shadow scoring (inference.shadow).


class ShadowPair(BaseModel):
    """One production version against one challenger version on the traffic since this process started."""

    production_version: str
    challenger_version: str
    rows: int = Field(description="Rows production answered that the challenger scored too")
    agreed: int = Field(description="Rows both versions predicted the same class for")
    agreement_rate: float | None = Field(description="agreed / rows; null before the first row")
    rows_with_actual: int = Field(description='Rows whose true class the caller sent (the Covertype client\'s {"features": [...]} body)')
    production_accuracy: float | None = Field(description="Production's share right of rows_with_actual; null without any")
    challenger_accuracy: float | None = Field(description="The challenger's share right of rows_with_actual; null without any")


class ShadowReport(BaseModel):
    name: str
    enabled: bool = Field(description="Shadow scoring is on (INFERENCE_SHADOW)")
    production_version: str | None = Field(description="The production version serving now")
    challenger_version: str | None = Field(
        description="The version the challenger alias names, loaded and scored in shadow now; null when there is none (or it is production's)"
    )
    queued_rows: int = Field(description="Rows of every model waiting to be scored")
    pairs: list[ShadowPair] = Field(description="Every production and challenger pair scored since start; counts are this process's")
