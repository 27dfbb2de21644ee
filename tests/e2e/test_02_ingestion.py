"""Ingestion through Airflow: data_api and palmerpenguins -> raw -> clean/rejected tables in MySQL."""

from __future__ import annotations

import requests

from e2e.stack import repeated_raw_rows, scalar, wait_for


def test_data_api_serves_real_rows(stack):
    body = requests.get(f"{stack.data_api}/data", params={"group_number": 5}, timeout=60).json()
    assert body["group_number"] == 5 and body["batch_number"] == 1
    assert len(body["data"]) > 100
    assert all(len(row) == 13 for row in body["data"])
    assert {row[10] for row in body["data"]} <= {"Rawah", "Neota", "Comanche", "Cache"}
    bad = requests.get(f"{stack.data_api}/data", params={"group_number": 0}, timeout=60)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "group_number"] and "between 1 and" in bad.text


def test_data_api_state_survives_a_container_restart(stack):
    requests.get(f"{stack.data_api}/data", params={"group_number": 5}, timeout=60).raise_for_status()
    before = requests.get(f"{stack.data_api}/groups/5", timeout=30).json()
    assert before["started"] and before["batch_number"] == 1
    stack.compose("restart", "data_api", check=True, timeout=120)

    def group_state():
        try:
            response = requests.get(f"{stack.data_api}/groups/5", timeout=5)
            return response.json() if response.status_code == 200 else None
        except requests.RequestException:
            return None

    after = wait_for(group_state, message="data_api back after a restart")
    assert after["batch_started_at"] == before["batch_started_at"]
    assert after["batch_number"] == 1


def test_penguins_ingest(airflow, data_db):
    run = airflow.run("penguins_ingest")
    raw = airflow.xcom("penguins_ingest", run["dag_run_id"], "ingest_raw")
    assert raw["received"] == 344
    assert scalar(data_db, "SELECT COUNT(*) FROM penguins_raw") == 344
    assert scalar(data_db, "SELECT COUNT(*) FROM penguins_clean") == 342
    assert scalar(data_db, "SELECT COUNT(*) FROM penguins_rejected") == 2
    assert scalar(data_db, "SELECT COUNT(DISTINCT species) FROM penguins_clean") == 3
    # A second run adds nothing.
    again = airflow.run("penguins_ingest")
    assert airflow.xcom("penguins_ingest", again["dag_run_id"], "ingest_raw")["inserted"] == 0
    # ... and announces nothing: the asset's last event already counts these clean rows.
    assert airflow.task_state("penguins_ingest", again["dag_run_id"], "publish_clean") == "skipped"
    assert scalar(data_db, "SELECT COUNT(*) FROM penguins_raw") == 344


def test_covertype_ingest_counts_match_what_data_api_served(airflow, data_db):
    group = 2
    run = airflow.run("covertype_ingest", conf={"group_number": group})
    served = airflow.xcom("covertype_ingest", run["dag_run_id"], "ingest_raw")
    assert served["group_number"] == group and served["batch_number"] == 1
    assert served["received"] > 100 and served["inserted"] == served["received"]
    cleaned = airflow.xcom("covertype_ingest", run["dag_run_id"], "validate_and_clean")
    assert airflow.task_state("covertype_ingest", run["dag_run_id"], "publish_clean") == "success"

    raw = scalar(data_db, "SELECT COUNT(*) FROM covertype_raw WHERE group_number = %s", group)
    assert raw == served["inserted"]
    assert repeated_raw_rows(data_db) == []
    # Every raw row (any group, scheduled runs included) is either clean or rejected.
    total_raw = scalar(data_db, "SELECT COUNT(*) FROM covertype_raw")
    clean = scalar(data_db, "SELECT COUNT(*) FROM covertype_clean")
    rejected = scalar(data_db, "SELECT COUNT(*) FROM covertype_rejected")
    assert clean + rejected == total_raw
    assert cleaned["total_raw"] == total_raw
    # The shared Covertype file is valid data: nothing of it is rejected.
    assert rejected == 0

    # A second run for the same batch only adds rows it had not seen.
    again = airflow.run("covertype_ingest", conf={"group_number": group})
    second = airflow.xcom("covertype_ingest", again["dag_run_id"], "ingest_raw")
    assert second["batch_number"] == 1 and second["inserted"] + second["duplicates"] == second["received"]
    assert scalar(data_db, "SELECT COUNT(*) FROM covertype_raw WHERE group_number = %s", group) == served["inserted"] + second["inserted"]
    # The rows it had seen were not stored again: no delivered row is in the table twice.
    assert second["duplicates"] > 0 and repeated_raw_rows(data_db) == []


def test_clean_data_updates_the_assets(airflow):
    events = airflow.get("/assets/events", params={"limit": 100}).json()["asset_events"]

    def name(event):
        return event.get("name") or event.get("asset_name") or event.get("uri", "")

    names = {name(e) for e in events}
    assert any("covertype_clean" in n for n in names), events
    assert any("penguins_clean" in n for n in names), events
    # Each event carries the clean table's row count it announced (the watermark
    # publish_clean compares with); penguins data never changes, so one event only.
    penguins = [(e["extra"] or {}) for e in events if "penguins_clean" in name(e)]
    assert [(x.get("clean_rows"), x.get("new_rows")) for x in penguins] == [(342, 342)], events
