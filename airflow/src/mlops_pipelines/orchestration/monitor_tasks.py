"""Monitoring tasks shared by covertype_ingest and monitor_drift; call them inside a `@dag` function."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException
from airflow.task.trigger_rule import TriggerRule

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.orchestration.defaults import retrain_asset
from mlops_pipelines.settings import settings


def retrain_params() -> dict[str, Param]:
    """Per-run overrides of the RETRAIN_* settings (defaults: the settings)."""
    s = settings()
    return {
        "retrain_accuracy_margin": Param(
            s.retrain_accuracy_margin,
            type="number",
            minimum=0,
            maximum=1,
            description="retrain when live accuracy is more than this below the production version's test accuracy ...",
        ),
        "retrain_accuracy_batches": Param(
            s.retrain_accuracy_batches, type="integer", minimum=1, description="... for this many scored batches in a row"
        ),
        "retrain_drift_share": Param(
            s.retrain_drift_share,
            type="number",
            minimum=0,
            maximum=1,
            description="retrain when more than this share of the features drifted",
        ),
        "retrain_min_new_rows_fraction": Param(
            s.retrain_min_new_rows_fraction,
            type="number",
            exclusiveMinimum=0,
            description="retrain when the new clean rows since production's snapshot reach this fraction of its training rows",
        ),
    }


def score_batch(contract: DatasetContract, raw_counts, clean_counts):
    """The production version's accuracy on the clean rows this run ingested that it did not train on, beside the
    challenger's when there is one (skipped when there is nothing to score)."""

    @task
    def score_batch(raw: dict, counts: dict) -> dict[str, Any]:
        from mlflow import MlflowClient
        from mlops_pipelines.comparison import ComparisonPolicy
        from mlops_pipelines.monitoring.quality import Batch
        from mlops_pipelines.monitoring.quality import score_batch as score
        from mlops_pipelines.orchestration.resources import data_engine

        if not raw.get("inserted"):
            raise AirflowSkipException("this run ingested no new raw rows: nothing to score")
        policy = ComparisonPolicy.from_settings(settings())
        result = score(data_engine(), MlflowClient(), contract, Batch.from_counts(raw), policy=policy)
        if result is None:
            raise AirflowSkipException(
                f"nothing scored: no version of {contract.registered_model_name} holds @production yet, "
                "none of this batch's rows passed validation, or the versions trained on all of them"
            )
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in result.items()}

    return score_batch(raw_counts, clean_counts)


def check_retrain(contract: DatasetContract):
    """Update the dataset's retraining Asset when the monitor finds a reason (monitoring.retrain); skip otherwise.

    Runs when its upstream tasks succeeded or were skipped (no production
    version, nothing new). A retry after the trigger was recorded emits that
    trigger again instead of deciding anew.
    """
    asset = retrain_asset(contract.name)

    @task(outlets=[asset], trigger_rule=TriggerRule.NONE_FAILED)
    def check_retrain(*, outlet_events=None) -> dict[str, Any]:
        from mlflow import MlflowClient
        from mlops_pipelines.monitoring import retrain
        from mlops_pipelines.orchestration.resources import data_engine
        from mlops_pipelines.storage import utcnow

        context = get_current_context()
        run_ref = f"{context['dag'].dag_id}/{context['run_id']}"
        engine = data_engine()
        recorded = retrain.trigger_of_run(engine, contract.name, run_ref)
        if recorded is None:
            policy = retrain.RetrainPolicy.from_settings(settings(), context["params"])
            decision = retrain.decide(engine, MlflowClient(), contract, policy, utcnow())
            if decision.held is not None:
                decision.held.detail["airflow_run"] = run_ref
                retrain.hold(engine, decision.held, utcnow())
            if decision.trigger is None:
                raise AirflowSkipException(f"no retraining: {decision.why}")
            trigger = decision.trigger
            trigger.detail["airflow_run"] = run_ref
            recorded = retrain.record(engine, trigger, utcnow())
        extra = {k: recorded[k] for k in ("reason", "detail", "model_name", "model_version")}
        extra["fired_at"] = str(recorded["fired_at"])
        outlet_events[asset].extra = extra
        return extra

    return check_retrain()
