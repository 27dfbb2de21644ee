"""Airflow DAG platform_maintenance: daily retention of registry versions, training runs,
predictions rows and task logs (MAINTENANCE_SCHEDULE, *_KEEP_* settings).

Built by mlops_pipelines.orchestration.maintenance_dag.
"""

from mlops_pipelines.orchestration.maintenance_dag import build_maintenance_dag

platform_maintenance = build_maintenance_dag()
