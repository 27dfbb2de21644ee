"""covertype_ingest run whole with Airflow's own `dag.test()` (its scheduler loop, in process, on a
throwaway metadata database) against a real MySQL, a real MLflow and a real HTTP server answering
as data_api does once a group has delivered its last batch: the run succeeds, nothing fails or retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_pipelines import source_state
from mlops_pipelines.contracts import COVERTYPE

pytestmark = pytest.mark.mysql

DAGS = Path(__file__).resolve().parents[1] / "dags"
GROUP = 4


@pytest.fixture
def connections(mysql_engine, mlflow_uri, fake_data_api, monkeypatch):
    """The DAG's Airflow connections (as docker-compose.yaml sets them) on the test services; the metadata database made."""
    from airflow.utils.db import initdb

    from mlops_pipelines.orchestration.resources import data_engine

    url, replies = fake_data_api
    monkeypatch.setenv("AIRFLOW_CONN_MLOPS_DATA", mysql_engine.url.set(drivername="mysql", query={}).render_as_string(hide_password=False))
    monkeypatch.setenv("AIRFLOW_CONN_DATA_API", url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    initdb()
    data_engine.cache_clear()
    yield replies
    data_engine.cache_clear()


def test_an_exhausted_group_ends_the_run_without_a_failed_task(connections, mysql_engine):
    from airflow.dag_processing.dagbag import DagBag

    replies = connections
    replies.append((410, {"detail": f"All 10 batches have been delivered for group {GROUP}.", "group_number": GROUP, "n_batches": 10}))
    dag = DagBag(dag_folder=str(DAGS / "covertype_ingest.py")).dags["covertype_ingest"]

    run = dag.test(run_conf={"group_number": GROUP})

    states = {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert run.state == "success", states
    # Nothing after the ingest has a batch to work on: skipped, none of them run into a missing result.
    for task_id in ("ingest_raw", "validate_and_clean", "score_batch", "publish_clean"):
        assert states[task_id][0] == "skipped", states
    # The monitor decides on what evidence there is (here: no clean rows, nothing to train on).
    assert states["check_retrain"][0] in ("success", "skipped"), states
    assert all(try_number <= 1 for _, try_number in states.values()), states  # no retry
    state = source_state.read(mysql_engine, COVERTYPE.name, GROUP)
    assert state is not None and state.exhausted and state.batch_number == 10
