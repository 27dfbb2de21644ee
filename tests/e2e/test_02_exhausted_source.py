"""A data_api group that has delivered its last batch: covertype_ingest ends without a failed task,
says so once with the way to restart the group, and the UI's Monitoring tab says so in plain words.

scripts/test.sh gives one group no other test reads a 1-second batch interval
(DATA_API_INTERVAL_GROUPS=4=1), so this test runs it through all its batches in seconds.
The group stays exhausted afterwards; nothing is ingested from it, so the other tests' rows are untouched.
"""

from __future__ import annotations

import os
import time

import pytest
import requests

from e2e.stack import OUTPUT, covertype_monitoring_tab
from ui.page import MONITORING_SOURCE_KEY

GROUP = int(os.environ.get("E2E_EXHAUSTED_GROUP", 4))
BAD_STATES = {"failed", "up_for_retry", "upstream_failed", "up_for_reschedule"}


def exhaust(data_api: str) -> dict:
    """Fetch the group's batches straight from data_api until it answers 410; return that answer."""
    overview = requests.get(f"{data_api}/", timeout=30).json()
    interval = overview.get("interval_groups", {}).get(str(GROUP))
    assert interval is not None and interval <= 2, f"run with DATA_API_INTERVAL_GROUPS={GROUP}=1 (scripts/test.sh sets it): {overview}"
    requests.get(f"{data_api}/restart_data_generation", params={"group_number": GROUP}, timeout=30).raise_for_status()
    served = []
    for _ in range(overview["n_batches"] + 1):
        response = requests.get(f"{data_api}/data", params={"group_number": GROUP}, timeout=60)
        if response.status_code == 410:
            break
        response.raise_for_status()
        served.append(response.json()["batch_number"])
        time.sleep(interval)  # per_call: the next call after the interval moves the group on by one batch
    assert served == list(range(1, overview["n_batches"] + 1)), served
    assert response.status_code == 410, response.text
    return response.json()


def task_states(airflow, run_id: str) -> dict[str, dict]:
    tasks = airflow.get(f"/dags/covertype_ingest/dagRuns/{run_id}/taskInstances").json()["task_instances"]
    return {t["task_id"]: t for t in tasks}


def task_log(airflow, run_id: str, task_id: str, try_number: int) -> str:
    response = airflow.get(
        f"/dags/covertype_ingest/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}", params={"full_content": "true"}
    )
    assert response.status_code == 200, response.text
    return response.text


def source_row(data_db) -> dict:
    with data_db.cursor() as cursor:
        cursor.execute(
            "SELECT batch_number, exhausted_at, checked_at FROM source_state WHERE dataset = 'covertype' AND group_number = %s", (GROUP,)
        )
        rows = cursor.fetchall()
    assert len(rows) == 1, rows
    return dict(zip(("batch_number", "exhausted_at", "checked_at"), rows[0]))


@pytest.fixture(scope="module")
def exhausted_runs(stack, airflow, data_db):
    """The group exhausted, then two covertype_ingest runs for it (the first to meet the end, and one after)."""
    end = exhaust(stack.data_api)
    first = airflow.run("covertype_ingest", conf={"group_number": GROUP})["dag_run_id"]
    after_first = source_row(data_db)
    second = airflow.run("covertype_ingest", conf={"group_number": GROUP})["dag_run_id"]
    return end, (first, after_first), (second, source_row(data_db))


def test_the_ingest_ends_green_and_skips_what_has_no_data(airflow, exhausted_runs):
    _, (first, _), (second, _) = exhausted_runs
    for run_id in (first, second):  # airflow.run has failed the test unless the run succeeded
        tasks = task_states(airflow, run_id)
        assert not {t: ti["state"] for t, ti in tasks.items() if ti["state"] in BAD_STATES}, tasks
        assert all(ti["try_number"] <= 1 for ti in tasks.values()), {t: ti["try_number"] for t, ti in tasks.items()}
        assert {t: tasks[t]["state"] for t in ("ingest_raw", "validate_and_clean", "score_batch", "publish_clean")} == dict.fromkeys(
            ("ingest_raw", "validate_and_clean", "score_batch", "publish_clean"), "skipped"
        )
        # The monitor still decides (on the evidence there is): it succeeds or skips, never fails.
        assert tasks["check_retrain"]["state"] in ("success", "skipped")


def test_the_state_is_recorded_and_the_restart_hint_logged_once(airflow, exhausted_runs):
    end, (first, after_first), (second, after_second) = exhausted_runs
    assert after_first["batch_number"] == end["n_batches"] and after_first["exhausted_at"] is not None
    # The second run only notes it: the time the end was first met stays.
    assert after_second["exhausted_at"] == after_first["exhausted_at"] and after_second["checked_at"] >= after_first["checked_at"]
    hint = f"restart_data_generation?group_number={GROUP}"
    first_log, second_log = task_log(airflow, first, "ingest_raw", 1), task_log(airflow, second, "ingest_raw", 1)
    assert hint in first_log and "WARNING" in first_log.upper(), first_log[-2000:]
    assert hint not in second_log and "still exhausted" in second_log, second_log[-2000:]


def test_the_monitoring_tab_says_the_group_has_ended(stack, browser, exhausted_runs):
    end, (_, state), _ = exhausted_runs
    with covertype_monitoring_tab(browser, stack) as ui:
        text = ui.section_text(MONITORING_SOURCE_KEY)
        ui.screenshot(OUTPUT / "ui-monitoring-exhausted.png")
    assert f"Group {GROUP} delivered its last batch ({end['n_batches']}) by {state['exhausted_at']:%Y-%m-%d %H:%M} UTC" in text, text
    assert f"GET /restart_data_generation?group_number={GROUP}" in text, text
