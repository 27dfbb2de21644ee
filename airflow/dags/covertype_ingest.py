"""Airflow DAG covertype_ingest: the group's current data_api batch -> covertype_raw -> clean/rejected,
every 5 minutes (COVERTYPE_INGEST_SCHEDULE).

Built by mlops_pipelines.orchestration.ingest_dags.
"""

from mlops_pipelines.orchestration.ingest_dags import build_covertype_ingest

covertype_ingest = build_covertype_ingest()
