"""Training stage: grids of scikit-learn pipelines cross-validated and tracked in MLflow; the
best by CV is refit, scored once on the test split and registered.

Modules, in the order a DAG run uses them:

- `families`: the model families and the hyper-parameters each exposes.
- `grids`: DAG Param values -> validated grid -> candidate list.
- `config`: every DAG Param of a training run, validated in one place.
- `data`: snapshot of a clean table, contract-typed; stratified seeded split.
- `features`: engineered features (ratios of raw fields) as pipeline steps.
- `pipelines`: preprocessing + classifier as one `Pipeline` built from a contract.
- `evaluation`: the confusion-matrix figure (the metrics: `mlops_pipelines.scoring`).
- `candidates`: one candidate's cross-validation; the winner's refit and test score.
- `selection`: pure rules: best candidate by CV mean, promotion decision.
- `tracking`: MLflow runs (parent per DAG run, child per candidate) and the model.
- `registry`: model versions, the `production` alias, auto-promotion.
- `tasks`: bodies of the DAG's tasks, runnable without Airflow.

The Airflow DAG both `*_train` DAG files build is `orchestration.training_dag`.
"""
