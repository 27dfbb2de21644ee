"""Promotions on the whole stack: MLflow's signed webhook, the history, and scripts/rollback.sh under load."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import requests

from e2e.load import CALLS, PENGUIN, SteadyLoad
from e2e.stack import MLFLOW_ADMIN, OUTPUT, ROOT, wait_until
from ui.page import UiPage


def serving(stack) -> str:
    return requests.post(f"{stack.inference}/predict/penguins", json=PENGUIN, timeout=30).json()["version"]


def set_production(stack, name: str, version: str) -> None:
    answer = requests.post(
        f"{stack.mlflow}/api/2.0/mlflow/registered-models/alias",
        auth=MLFLOW_ADMIN,
        json={"name": name, "alias": "production", "version": version},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def newest_moves(stack, name: str, n: int = 2) -> list[tuple]:
    answer = requests.get(f"{stack.inference}/models/{name}/history", timeout=30)
    assert answer.status_code == 200, answer.text
    return [(m["alias"], m["from_version"], m["to_version"], m["path"]) for m in answer.json()["moves"][:n]]


def test_a_forged_or_unsigned_webhook_gets_401_and_changes_nothing(stack):
    name = "penguins-classifier"
    before, history = serving(stack), newest_moves(stack, name)
    body = json.dumps(
        {"entity": "model_version_alias", "action": "created", "data": {"name": name, "alias": "production", "version": "999"}}
    )
    forged = {"X-MLflow-Delivery-Id": str(uuid.uuid4()), "X-MLflow-Timestamp": str(int(time.time())), "X-MLflow-Signature": "v1,Zm9yZ2Vk"}
    for headers in ({}, forged):
        answer = requests.post(
            f"{stack.inference}/webhooks/mlflow", data=body, headers={"Content-Type": "application/json", **headers}, timeout=30
        )
        assert answer.status_code == 401, answer.text
    time.sleep(2)
    assert serving(stack) == before
    assert newest_moves(stack, name) == history


def test_a_promotion_arrives_by_webhook_and_a_rollback_goes_back_with_no_failed_request(stack, penguins_other_version, browser):
    name = "penguins-classifier"
    current, other = serving(stack), penguins_other_version
    assert other != current
    with SteadyLoad(stack.inference, CALLS) as load:
        set_production(stack, name, other)
        moved = time.monotonic()
        wait_until(lambda: serving(stack), lambda seen: seen == other, timeout=30, interval=0.05, message=f"version {other} served")
        promoted_after = time.monotonic() - moved
        # Recorded as the webhook brought it, not the poll (every INFERENCE_REFRESH_SECONDS).
        assert newest_moves(stack, name, 1) == [("production", current, other, "webhook")]

        # The stack's project and files come from COMPOSE_PROJECT_NAME / COMPOSE_FILE, as for stack.compose.
        rolled = subprocess.run([str(ROOT / "scripts" / "rollback.sh"), name], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        assert f"moved back from version {other} to {current}" in rolled.stdout
        back = time.monotonic()
        wait_until(lambda: serving(stack), lambda seen: seen == current, timeout=30, interval=0.05, message=f"version {current} back")
        rolled_back_after = time.monotonic() - back
    print(f"promotion served after {promoted_after:.2f} s, rollback after {rolled_back_after:.2f} s; load {load.report.answered} answered")
    assert newest_moves(stack, name) == [("production", other, current, "rollback"), ("production", current, other, "webhook")]
    assert load.report.failures == [], load.report.failures[:5]
    # The version it went back to was still loaded: no download.
    assert rolled_back_after < 2, rolled_back_after

    # A person sees both moves in the UI's Model tab, newest first.
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        ui = UiPage(page, stack.ui)
        ui.open()
        ui.choose_dataset("penguins")
        ui.open_tab("Model")
        shown = ui.alias_history()[:2]
        ui.screenshot(OUTPUT / "ui-model-history.png")
    finally:
        page.close()
    assert [row[1:] for row in shown] == [["production", other, current, "rollback"], ["production", current, other, "MLflow's webhook"]]
