"""Airflow DAG covertype_train: model grids cross-validated on covertype_clean, one mapped task per
candidate, tracked in MLflow; the best is refit, tested and becomes a version of covertype-classifier.

Built by mlops_pipelines.orchestration.training_dag (shared with penguins_train).
"""

from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.orchestration.training_dag import build_training_dag

covertype_train = build_training_dag(COVERTYPE)
