"""Every name the pipelines give things in MLflow: models, aliases, experiments, tags, artifacts.

Training writes them, monitoring and maintenance find runs and versions by them,
and inference and the UI read some back (those in `contracts.CONVENTIONS`, built
from here). One definition each, so a rename cannot miss a reader.
Plain strings only: contracts.py imports this module, MLflow is not needed.
"""

from __future__ import annotations

# --- registered models and their aliases -------------------------------------
MODEL_NAME_SUFFIX = "-classifier"  # one registered model per dataset: <dataset>-classifier
PRODUCTION_ALIAS = "production"  # the version inference serves; a person moves it to promote
CHALLENGER_ALIAS = "challenger"  # the newest registered version not promoted: scored beside production


def registered_model_name(dataset: str) -> str:
    return f"{dataset}{MODEL_NAME_SUFFIX}"


# --- experiments: one of each per dataset ------------------------------------
def training_experiment(dataset: str) -> str:
    return f"{dataset}-training"


def monitoring_experiment(dataset: str) -> str:
    return f"{dataset}-monitoring"


# --- the logged model and the artifacts beside it ----------------------------
LOGGED_MODEL_NAME = "model"  # the refit model on the chosen candidate's run
FEATURE_SPEC_METADATA_KEY = "feature_spec"  # MLmodel metadata key of the feature spec
FEATURE_SPEC_FILE = "feature_spec.json"  # the same spec as an artifact beside the model
CONFUSION_MATRIX_FILE = "confusion_matrix.png"
RETRAIN_TRIGGER_FILE = "retrain_trigger.json"  # on a parent run: the monitor's events that started it
PROMOTION_FILE = "promotion.json"  # on a parent run: the promotion decision
DRIFT_REPORT_FILE = "drift_report.html"  # on a drift check's monitoring run

# --- tags of training runs (a DAG run's parent run and its candidates' child runs) ---
TAG_DAG_ID = "airflow.dag_id"
TAG_RUN_ID = "airflow.run_id"
TAG_ROLE = "training.role"  # ROLE_PARENT | ROLE_CANDIDATE
ROLE_PARENT = "parent"
ROLE_CANDIDATE = "candidate"
TAG_DATASET = "training.dataset"
TAG_FAMILY = "training.family"
TAG_CANDIDATE = "training.candidate"
TAG_INDEX = "training.candidate_index"
TAG_MODEL_ID = "training.model_id"
TAG_ERROR = "training.error"
TAG_ERROR_KIND = "training.error_kind"
TAG_REFIT = "training.refit"  # "true" on the chosen candidate's run once it holds the refit model
TAG_PARENT = "mlflow.parentRunId"  # MLflow's own
TAG_RETRAIN_REASON = "retrain.reason"  # on the parent run: why the DAG run trains
TAG_BEST_RUN = "best.run_id"  # on the parent run: the chosen candidate, recorded before the refit
TAG_BEST_CANDIDATE = "best.candidate"
TAG_REGISTERED_VERSION = "registered.version"
TAG_REGISTRATION_SKIPPED = "registration_skipped"
TAG_CANDIDATES_EVALUATED = "candidates_evaluated"
TAG_CANDIDATES_TOTAL = "candidates_total"
TAG_PARTIAL_GRID = "partial_grid"

# --- the promotion decision, on the version and on the parent run -------------
TAG_PROMOTION_DECISION = "promotion.decision"  # PROMOTED | NOT_PROMOTED
PROMOTED = "promoted"
NOT_PROMOTED = "not_promoted"
TAG_PROMOTION_REASON = "promotion.reason"
# "true" when the training run allowed the version to be promoted automatically on a `promote` recommendation.
TAG_AUTO_PROMOTE = "promotion.auto_promote"

# --- the challenger's comparison with production (comparison.Comparison), on the challenger version ---
COMPARISON_PREFIX = "comparison."  # + production_version, batches, rows_excluded and every Comparison field
TAG_COMPARISON_RECOMMENDATION = "comparison.recommendation"  # promote | keep | undecided


def comparison_tag(field: str) -> str:
    return f"{COMPARISON_PREFIX}{field}"


# --- what a version was trained on: parent run params and version tags -------
DATA_TABLE = "data.table"
DATA_ROWS = "data.rows"
DATA_DIGEST = "data.digest"
# The exact training rows (clean rows up to this id): the drift monitor's reference.
DATA_SNAPSHOT_MAX_ID = "data.snapshot_max_id"
# Its split rule (training.data.SplitRule): with the bound, which rows it trained on.
SPLIT_METHOD = "split.method"
SPLIT_SEED = "split.seed"
SPLIT_TEST_FRACTION = "split.test_fraction"
GRID_DIGEST = "grid.digest"
CODE_VERSION = "code.version"


def test_metric(metric: str) -> str:
    """Name of a metric scored on the test split: logged by the chosen candidate's run, tagged on its version."""
    return f"test_{metric}"


def cv_mean(metric: str) -> str:
    """Name of a metric's mean across CV folds, as each candidate run logs it (and the version's tags copy)."""
    return f"cv_{metric}_mean"


def cv_std(metric: str) -> str:
    return f"cv_{metric}_std"


TEST_ROWS = "test_rows"  # metric on the chosen candidate's run: the rows of the test split it was scored on


# --- tags of monitoring runs (in the monitoring experiment) ---------------------
TAG_MONITOR_KIND = "monitoring.kind"  # live_accuracy | drift
TAG_MONITOR_DATASET = "monitoring.dataset"
TAG_MONITOR_MODEL = "monitoring.model_name"
TAG_MONITOR_VERSION = "monitoring.model_version"
TAG_MONITOR_BATCH = "monitoring.batch_key"
TAG_MONITOR_BATCH_NUMBER = "monitoring.batch_number"
TAG_MONITOR_GROUP = "monitoring.group_number"
TAG_MONITOR_CHECK = "monitoring.check_id"
TAG_MONITOR_PRODUCTION_VERSION = "monitoring.production_version"  # on a challenger's run: the version it is paired with
