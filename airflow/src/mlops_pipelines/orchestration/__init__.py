"""The Airflow glue, in one place: DAG builders, shared tasks, defaults, connections.

Everything else in mlops_pipelines runs without Airflow (tests and benchmarks call
it directly); only these modules import `airflow`, and DAG files only call the
builders here.
"""
