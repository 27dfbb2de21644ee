"""Airflow DAG penguins_train: logistic-regression and random-forest grids on penguins_clean,
tracked in MLflow; the best becomes a version of penguins-classifier.

Built by mlops_pipelines.training.dag_factory (shared with covertype_train).
"""

from mlops_pipelines.contracts import PENGUINS
from mlops_pipelines.training.dag_factory import build_training_dag

penguins_train = build_training_dag(PENGUINS)
