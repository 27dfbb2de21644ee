"""Training stage: grids of scikit-learn pipelines tracked in MLflow, best one registered.

Modules, in the order a DAG run uses them:

- `families`: the model families and the hyper-parameters each exposes.
- `grids`: DAG Param values -> validated grid -> candidate list.
- `config`: every DAG Param of a training run, validated in one place.
- `data`: snapshot of a clean table, contract-typed; stratified seeded split.
- `pipelines`: preprocessing + classifier as one `Pipeline` built from a contract.
- `evaluation`: test-split metrics and the confusion-matrix figure.
- `selection`: pure rules: best candidate, promotion decision.
- `tracking`: MLflow runs (parent per DAG run, child per candidate) and models.
- `registry`: model versions, the `production` alias, auto-promotion.
- `tasks`: bodies of the DAG's tasks, runnable without Airflow.
- `dag_factory`: the Airflow DAG both `*_train` DAG files build.
"""
