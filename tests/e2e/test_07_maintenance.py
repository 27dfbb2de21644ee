"""platform_maintenance through Airflow: the registry pruned down to a small number of versions
per model, every aliased version (production) kept; what it deleted is in its result."""

from __future__ import annotations

MODELS = ("penguins-classifier", "covertype-classifier")


def versions(registry, name):
    return sorted(int(v.version) for v in registry.search_model_versions(f"name = '{name}'"))


def test_maintenance_prunes_the_registry_and_keeps_the_production_version(airflow, registry):
    for dag_id in ("penguins_train", "covertype_train"):  # no training run may register meanwhile
        for run in airflow.runs(dag_id):
            if run["state"] not in ("success", "failed"):
                airflow.wait_for_run(dag_id, run["dag_run_id"])
    production = {name: registry.get_model_version_by_alias(name, "production").version for name in MODELS}
    before = {name: versions(registry, name) for name in MODELS}
    aliased = {name: {int(v) for v in registry.get_registered_model(name).aliases.values()} for name in MODELS}

    run = airflow.run("platform_maintenance", conf={"registry_keep_versions": 1})

    deleted = airflow.xcom("platform_maintenance", run["dag_run_id"], "prune_registry")
    for name in MODELS:
        after = versions(registry, name)
        # Keep 1: the aliased versions stay (they count towards the 1), every other one goes.
        expected = sorted(aliased[name]) if aliased[name] else before[name][-1:]
        assert after == expected, (name, before[name], after)
        assert sorted(int(v) for v in deleted.get(name, [])) == sorted(set(before[name]) - set(after))
        assert registry.get_model_version_by_alias(name, "production").version == production[name]
    for task in ("prune_runs", "prune_predictions", "prune_task_logs"):
        assert airflow.task_state("platform_maintenance", run["dag_run_id"], task) == "success"
    print(f"\nplatform_maintenance deleted versions {deleted}")
