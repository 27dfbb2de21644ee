"""Logic of the platform's Airflow DAGs: dataset contracts, sources, storage, validation.

DAG files only wire these functions into tasks, so everything here is importable
and tested without a scheduler.
"""
