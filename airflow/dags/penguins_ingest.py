"""Airflow DAG penguins_ingest: Palmer penguins -> penguins_raw -> clean/rejected, once (idempotent).

Built by mlops_pipelines.orchestration.ingest_dags.
"""

from mlops_pipelines.orchestration.ingest_dags import build_penguins_ingest

penguins_ingest = build_penguins_ingest()
