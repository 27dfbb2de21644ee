"""Airflow DAG penguins_train: model grids cross-validated on penguins_clean, one mapped task per
candidate, tracked in MLflow; the best is refit, tested and becomes a version of penguins-classifier.

Built by mlops_pipelines.orchestration.training_dag (shared with covertype_train).
"""

from mlops_pipelines.contracts import PENGUINS
from mlops_pipelines.orchestration.training_dag import build_training_dag

penguins_train = build_training_dag(PENGUINS)
