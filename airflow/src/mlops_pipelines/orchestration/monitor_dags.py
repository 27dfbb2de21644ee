"""The monitor_drift DAG: recent predictions and ingested rows against the production version's training data.

Hourly by default (MONITOR_DRIFT_SCHEDULE), over the last MONITOR_DRIFT_WINDOW_HOURS
(the `window_hours` Param), for Covertype: per feature a Kolmogorov-Smirnov or
chi-square test, Benjamini-Hochberg across the features, PSI as the size of the
change, features with fewer than DRIFT_MIN_ROWS rows left out; rows to
feature_drift, an HTML report in MLflow (experiment covertype-monitoring),
then check_retrain, which updates covertype_retrain when more than
RETRAIN_DRIFT_SHARE of the features drifted.
"""

from __future__ import annotations

from mlops_pipelines.contracts import COVERTYPE
from mlops_pipelines.orchestration.defaults import DEFAULT_ARGS, START_DATE
from mlops_pipelines.orchestration.monitor_tasks import check_retrain, retrain_params
from mlops_pipelines.settings import settings


def build_monitor_drift():
    from airflow.sdk import Param, dag, get_current_context, task
    from airflow.sdk.exceptions import AirflowSkipException

    contract = COVERTYPE

    @dag(
        dag_id="monitor_drift",
        schedule=settings().monitor_drift_schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={
            "window_hours": Param(
                settings().monitor_drift_window_hours,
                type="number",
                exclusiveMinimum=0,
                description="hours of predictions and ingested rows compared with the production version's training rows",
            ),
            **retrain_params(),
        },
        tags=[contract.name, "monitoring"],
        doc_md=__doc__,
    )
    def monitor_drift():
        @task
        def compute_drift() -> dict:
            from mlflow import MlflowClient
            from mlops_pipelines.monitoring.drift_check import run_check
            from mlops_pipelines.orchestration.resources import data_engine

            context = get_current_context()
            check_id = context["run_id"][:64]
            summary = run_check(
                data_engine(),
                MlflowClient(),
                contract,
                check_id,
                float(context["params"]["window_hours"]),
                min_rows=settings().drift_min_rows,
            )
            if summary is None:
                raise AirflowSkipException(f"no version of {contract.registered_model_name} holds @production: nothing to compare with")
            return summary

        compute_drift() >> check_retrain(contract)

    return monitor_drift()
