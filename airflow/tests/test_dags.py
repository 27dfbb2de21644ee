"""The DAG files import cleanly and are wired as documented."""

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[1] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_ingestion_dags(dagbag):
    covertype = dagbag.dags["covertype_ingest"]
    assert covertype.max_active_runs == 1 and not covertype.catchup
    assert covertype.params["group_number"] == 1
    assert {t.task_id for t in covertype.tasks} == {"ingest_raw", "validate_and_clean", "score_batch", "publish_clean", "check_retrain"}
    # The batch is scored before the clean-data asset announces it, and the monitor decides after.
    assert covertype.get_task("score_batch").upstream_task_ids == {"ingest_raw", "validate_and_clean"}
    assert covertype.get_task("publish_clean").upstream_task_ids == {"validate_and_clean", "score_batch"}
    # A skipped score (no model yet) still publishes; a skipped ingest (the source has ended) does not.
    assert covertype.get_task("publish_clean").trigger_rule == "none_failed_min_one_success"
    assert covertype.get_task("check_retrain").upstream_task_ids == {"publish_clean"}
    assert covertype.get_task("check_retrain").trigger_rule == "none_failed"
    assert covertype.params["retrain_accuracy_batches"] == 3 and covertype.params["retrain_min_new_rows_fraction"] == 0.2
    publish = covertype.get_task("publish_clean")
    assert [a.name for a in publish.outlets] == ["covertype_clean"]
    # It reads the asset's last event (its watermark) before emitting a new one.
    assert [a.name for a in publish.inlets] == ["covertype_clean"]
    assert covertype.get_task("ingest_raw").retries == 3

    penguins = dagbag.dags["penguins_ingest"]
    assert [a.name for a in penguins.get_task("publish_clean").outlets] == ["penguins_clean"]
    assert {t.task_id for t in penguins.tasks} == {"ingest_raw", "validate_and_clean", "publish_clean"}
    assert penguins.get_task("publish_clean").trigger_rule == "all_success"


def test_monitor_drift_dag(dagbag):
    monitor = dagbag.dags["monitor_drift"]
    assert monitor.timetable.expression == "0 * * * *" and monitor.max_active_runs == 1 and not monitor.catchup
    assert monitor.params["window_hours"] == 24
    assert monitor.get_task("check_retrain").upstream_task_ids == {"compute_drift"}
    assert monitor.get_task("check_retrain").trigger_rule == "none_failed"
    assert monitor.params["retrain_drift_share"] == 0.5


def test_monitoring_settings_come_from_the_environment(monkeypatch):
    from mlops_pipelines.settings import PipelineSettings

    for name in ("MONITOR_DRIFT_SCHEDULE", "MONITOR_DRIFT_WINDOW_HOURS", "RETRAIN_ACCURACY_MARGIN", "RETRAIN_ACCURACY_BATCHES"):
        monkeypatch.delenv(name, raising=False)
    s = PipelineSettings()
    assert (s.monitor_drift_schedule, s.monitor_drift_window_hours) == ("@hourly", 24)
    assert (s.retrain_accuracy_margin, s.retrain_accuracy_batches, s.retrain_drift_share, s.retrain_min_new_rows_fraction) == (
        0.05,
        3,
        0.5,
        0.2,
    )
    monkeypatch.setenv("MONITOR_DRIFT_SCHEDULE", "none")
    monkeypatch.setenv("RETRAIN_ACCURACY_BATCHES", "5")
    assert (PipelineSettings().monitor_drift_schedule, PipelineSettings().retrain_accuracy_batches) == (None, 5)
    monkeypatch.setenv("RETRAIN_DRIFT_SHARE", "1.5")
    with pytest.raises(ValueError, match="retrain_drift_share"):
        PipelineSettings()


def test_the_drift_minimum_rows_default_to_the_measured_one_and_come_from_the_environment(monkeypatch):
    from mlops_pipelines.monitoring import drift
    from mlops_pipelines.settings import PipelineSettings

    monkeypatch.delenv("DRIFT_MIN_ROWS", raising=False)
    assert PipelineSettings().drift_min_rows == drift.MIN_ROWS
    monkeypatch.setenv("DRIFT_MIN_ROWS", "500")
    assert PipelineSettings().drift_min_rows == 500
    monkeypatch.setenv("DRIFT_MIN_ROWS", "0")
    with pytest.raises(ValueError, match="drift_min_rows"):
        PipelineSettings()


def test_platform_dags(dagbag):
    assert set(dagbag.dags) == {
        "penguins_ingest",
        "covertype_ingest",
        "penguins_train",
        "covertype_train",
        "monitor_drift",
        "platform_maintenance",
    }


def test_maintenance_dag_runs_daily_with_independent_retention_tasks(dagbag):
    dag = dagbag.dags["platform_maintenance"]
    assert dag.timetable.expression == "0 0 * * *" and dag.max_active_runs == 1 and not dag.catchup
    assert {t.task_id for t in dag.tasks} == {"prune_registry", "prune_runs", "prune_predictions", "prune_task_logs"}
    # Versions first: a run whose version was just deleted is no longer registered.
    assert dag.get_task("prune_runs").upstream_task_ids == {"prune_registry"}
    assert dag.get_task("prune_predictions").upstream_task_ids == set()


def test_retention_settings_come_from_the_environment(monkeypatch):
    from mlops_pipelines.settings import PipelineSettings

    defaults = PipelineSettings()
    assert (defaults.registry_keep_versions, defaults.runs_keep_days, defaults.predictions_keep_days) == (20, 30, 30)
    assert (defaults.predictions_delete_chunk, defaults.airflow_logs_keep_days, defaults.maintenance_schedule) == (5000, 30, "@daily")
    monkeypatch.setenv("REGISTRY_KEEP_VERSIONS", "3")
    monkeypatch.setenv("MAINTENANCE_SCHEDULE", "none")
    assert (PipelineSettings().registry_keep_versions, PipelineSettings().maintenance_schedule) == (3, None)
    monkeypatch.setenv("REGISTRY_KEEP_VERSIONS", "0")
    with pytest.raises(ValueError, match="registry_keep_versions"):
        PipelineSettings()


def test_covertype_is_fetched_every_five_minutes_by_default(dagbag):
    assert dagbag.dags["covertype_ingest"].timetable.expression == "*/5 * * * *"


def test_schedule_and_group_come_from_the_environment(monkeypatch):
    from mlops_pipelines.settings import PipelineSettings

    monkeypatch.delenv("COVERTYPE_INGEST_SCHEDULE", raising=False)
    assert PipelineSettings().covertype_ingest_schedule == "*/5 * * * *"
    monkeypatch.setenv("COVERTYPE_INGEST_SCHEDULE", "none")
    assert PipelineSettings().covertype_ingest_schedule is None
    monkeypatch.setenv("COVERTYPE_INGEST_SCHEDULE", "*/10 * * * *")
    monkeypatch.setenv("COVERTYPE_GROUP_NUMBER", "3")
    assert (PipelineSettings().covertype_ingest_schedule, PipelineSettings().covertype_group_number) == ("*/10 * * * *", 3)
    monkeypatch.setenv("COVERTYPE_GROUP_NUMBER", "0")
    with pytest.raises(ValueError, match="covertype_group_number"):
        PipelineSettings()


def test_publish_compares_the_clean_table_with_the_last_event():
    from mlops_pipelines.orchestration.shared_tasks import PUBLISHED_ROWS, rows_to_publish

    assert rows_to_publish(342, None) == 342  # no event yet
    assert rows_to_publish(342, {}) == 342  # an event without our watermark (e.g. created by hand)
    assert rows_to_publish(342, {PUBLISHED_ROWS: 342}) == 0  # nothing new: skip
    # A retry after the clean rows were committed: this attempt inserted 0, but they were never announced.
    assert rows_to_publish(500, {PUBLISHED_ROWS: 342}) == 158


def test_only_the_orchestration_package_imports_airflow():
    """The rest of the package runs without Airflow: tests and benchmarks call it directly."""
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "src" / "mlops_pipelines"
    importing = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"^\s*(from|import) airflow\b", path.read_text(), re.M) and "orchestration" not in path.parts
    )
    assert importing == []
