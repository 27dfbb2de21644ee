"""Airflow DAG monitor_drift: recent predictions and ingested Covertype rows against the production
version's training data, per feature; rows to feature_drift, an HTML report to MLflow; hourly
(MONITOR_DRIFT_SCHEDULE). May update covertype_retrain (reason: drift).

Built by mlops_pipelines.orchestration.monitor_dags.
"""

from mlops_pipelines.orchestration.monitor_dags import build_monitor_drift

monitor_drift = build_monitor_drift()
