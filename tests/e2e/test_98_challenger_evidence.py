"""Every promotion backed by evidence: a challenger is scored beside production on each fresh labelled
Covertype batch, on the rows neither trained on, until the paired comparison decides.

On data_api group GROUP (shuffled, a batch a second), as a person would drive the platform:

- a deliberately weak challenger (a person trains a one-tree, depth-1 forest) ends `keep`, its interval below zero;
- the production model registered again (a challenger identical to production) never reaches `promote`: it ends
  `keep` once CHALLENGER_MAX_ROWS rows show it no better;
- a stronger challenger: a person promoted the weak version by mistake, and the model it replaced, now the
  challenger, ends `promote`; the person then promotes it back.

No retraining may start meanwhile (its version would take @challenger in the middle of a comparison): the
ingest runs raise the retrain thresholds out of reach. Figures into test-output/challenger-evidence.json.
"""

from __future__ import annotations

import os

import requests

from e2e.stack import aliases, record_figures, register_again

MODEL = "covertype-classifier"
GROUP = int(os.environ.get("E2E_EVIDENCE_GROUP", 3))
QUIET = {"group_number": GROUP, "retrain_accuracy_margin": 1, "retrain_drift_share": 1, "retrain_min_new_rows_fraction": 1000}
WEAK_GRIDS = {
    "random_forest_grid": {"n_estimators": [1], "max_depth": [1], "min_samples_leaf": [1]},
    "logistic_regression_grid": {},
    "svm_grid": {},
}
FIGURES = (
    "batches",
    "rows_compared",
    "rows_excluded",
    "production_accuracy",
    "challenger_accuracy",
    "accuracy_diff",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "mcnemar_p",
    "recommendation",
)


def comparison(data_db, production: str, challenger: str) -> dict | None:
    """The pair's comparison as monitoring stored it after the last batch (challenger_comparison), or None."""
    with data_db.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(FIGURES)} FROM challenger_comparison "
            "WHERE model_name = %s AND production_version = %s AND challenger_version = %s",
            (MODEL, production, challenger),
        )
        row = cursor.fetchone()
    return None if row is None else dict(zip(FIGURES, row, strict=True))


def compare(airflow, data_db, production: str, challenger: str, decided, max_batches: int) -> list[dict]:
    """Ingest fresh batches until `decided(comparison)`; the comparison after each batch."""
    history = []
    for _ in range(max_batches):
        run = airflow.run("covertype_ingest", conf=QUIET)["dag_run_id"]
        assert airflow.task_state("covertype_ingest", run, "score_batch") == "success", run
        scored = airflow.xcom("covertype_ingest", run, "score_batch")
        found = comparison(data_db, production, challenger)
        assert found is not None, f"batch {scored.get('batch_number')} scored, no comparison of v{challenger} with v{production}"
        history.append(found)
        if decided(found):
            break
    return history


def figures(history: list[dict], production: str, challenger: str) -> dict:
    last = history[-1]
    return {
        "production_version": production,
        "challenger_version": challenger,
        "batches_needed": len(history),
        **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in last.items()},
        "recommendations": [c["recommendation"] for c in history],
    }


def test_weaker_keep_identical_never_promote_stronger_promote(stack, airflow, registry, data_db):
    production = aliases(registry, MODEL)["production"]
    # An earlier test's challenger would be compared too: a person drops it, as in the MLflow UI.
    registry.delete_registered_model_alias(MODEL, "challenger")
    overview = requests.get(f"{stack.data_api}/", timeout=30).json()
    interval = overview.get("interval_groups", {}).get(str(GROUP))
    assert interval is not None and interval <= 2, f"run with DATA_API_INTERVAL_GROUPS={GROUP}=1 (scripts/test.sh sets it): {overview}"
    requests.get(f"{stack.data_api}/restart_data_generation", params={"group_number": GROUP}, timeout=30).raise_for_status()
    n_batches = requests.get(f"{stack.data_api}/groups/{GROUP}", timeout=30).json()["n_batches"]

    # Weaker: a person trains a one-tree, depth-1 forest; it takes @challenger, production stays.
    run = airflow.run("covertype_train", conf=WEAK_GRIDS)["dag_run_id"]
    result = airflow.xcom("covertype_train", run, "register_best")
    assert result["registered"] and not result["promoted"], result
    weak = str(result["version"])
    assert aliases(registry, MODEL) == {"production": production, "challenger": weak}
    weaker = compare(airflow, data_db, production, weak, lambda c: c["recommendation"] != "undecided", max_batches=3)
    record_figures("challenger-evidence.json", "weaker", figures(weaker, production, weak))
    assert weaker[-1]["recommendation"] == "keep" and weaker[-1]["accuracy_ci_high"] < 0, weaker

    # Identical: production's model registered again and made the challenger: the same predictions on every row.
    same = register_again(registry, MODEL, registry.get_model_version(MODEL, production))
    registry.set_registered_model_alias(MODEL, "challenger", same)
    # The group's batches are shared: two are left for the stronger challenger (one decides it).
    spare = n_batches - len(weaker) - 2
    identical = compare(airflow, data_db, production, same, lambda c: c["recommendation"] == "keep", max_batches=spare)
    record_figures("challenger-evidence.json", "identical", figures(identical, production, same))
    assert all(c["recommendation"] != "promote" for c in identical), identical
    assert all(c["accuracy_diff"] == 0 and c["challenger_accuracy"] == c["production_accuracy"] for c in identical), identical
    assert identical[-1]["recommendation"] == "keep" or identical[-1]["rows_compared"] < 5000, identical

    # Stronger: a person promoted the weak version by mistake; the model it replaced challenges it.
    registry.set_registered_model_alias(MODEL, "production", weak)
    registry.set_registered_model_alias(MODEL, "challenger", production)
    try:
        stronger = compare(airflow, data_db, weak, production, lambda c: c["recommendation"] != "undecided", max_batches=2)
        record_figures("challenger-evidence.json", "stronger", figures(stronger, weak, production))
        assert stronger[-1]["recommendation"] == "promote" and stronger[-1]["accuracy_ci_low"] > 0, stronger
    finally:
        # The person acts on the recommendation: production goes back; no challenger is left open.
        registry.set_registered_model_alias(MODEL, "production", production)
        registry.delete_registered_model_alias(MODEL, "challenger")
    assert aliases(registry, MODEL) == {"production": production}
