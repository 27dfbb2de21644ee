"""Grid expansion and validation, the DAG Params and the run settings built from them."""

import pytest

from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.training.config import TrainingConfig, default_grids, grid_param_name
from mlops_pipelines.training.grids import MAX_CANDIDATES, Candidate, GridError, candidates, expand_grid, validate_grid


def test_expansion_is_the_cartesian_product_first_parameter_slowest():
    assert expand_grid({"a": [1, 2], "b": ["x", "y", "z"]}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 1, "b": "z"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
        {"a": 2, "b": "z"},
    ]
    assert expand_grid({"a": [1]}) == [{"a": 1}]


def test_default_grids_expand_to_few_candidates_with_stable_keys():
    lr = candidates("logistic_regression", default_grids()["logistic_regression"])
    rf = candidates("random_forest", default_grids()["random_forest"])
    svm = candidates("svm", default_grids()["svm"])
    assert len(lr) == 6 and len(rf) == 4 and len(svm) == 6
    assert svm[3].params == {"C": 1.0, "kernel": "rbf", "gamma": "scale"}
    assert [c.key for c in rf] == ["random_forest-00", "random_forest-01", "random_forest-02", "random_forest-03"]
    assert lr[1].params == {"C": 0.1, "class_weight": "balanced"}
    # Bounded forests by default (the inference service loads the model).
    assert all(c.params["max_depth"] is not None and c.params["n_estimators"] <= 100 for c in rf)


def test_an_empty_grid_turns_a_family_off_per_dataset():
    assert validate_grid("svm", {}) == {} and candidates("svm", {}) == []
    # SVM is too slow for Covertype's size (bench/README.md): off there by default, on for penguins.
    assert default_grids(COVERTYPE)["svm"] == {} and default_grids(PENGUINS)["svm"] == default_grids()["svm"]
    assert default_grids(COVERTYPE)["random_forest"] == default_grids(PENGUINS)["random_forest"]
    covertype = TrainingConfig.for_contract(COVERTYPE)
    assert [c.family for c in covertype.candidates()].count("svm") == 0 and len(covertype.candidates()) == 10
    assert len(TrainingConfig.for_contract(PENGUINS).candidates()) == 16
    with pytest.raises(ValueError, match="every family's grid is empty"):
        TrainingConfig.from_params(PENGUINS, {f"{name}_grid": {} for name in default_grids()})


def test_svm_grid_takes_named_or_numeric_gamma():
    grid = validate_grid("svm", {"C": [1], "kernel": ["rbf"], "gamma": ["scale", 0.1]})
    assert grid["gamma"] == ["scale", 0.1]
    with pytest.raises(GridError, match="gamma/0"):
        validate_grid("svm", {"C": [1], "kernel": ["rbf"], "gamma": [-1]})
    with pytest.raises(GridError, match="kernel/0: 'cubic' is not one of"):
        validate_grid("svm", {"C": [1], "kernel": ["cubic"], "gamma": ["scale"]})


def test_candidates_travel_through_xcom_as_plain_dicts():
    config = TrainingConfig.for_contract(PENGUINS)
    listed = [c.as_dict() for c in config.candidates()]
    assert listed[0] == {
        "family": "logistic_regression",
        "index": 0,
        "params": {"C": 0.1, "class_weight": None},
        "key": "logistic_regression-00",
    }
    assert [c["key"] for c in listed][-1] == "random_forest-03"  # training order: LR, SVM, then forests
    assert [Candidate.from_dict(d) for d in listed] == config.candidates()


@pytest.mark.parametrize(
    "grid, message",
    [
        ({"C": [1.0]}, "'class_weight' is a required property"),
        ({"C": [1.0], "class_weight": [None], "penalty": ["l1"]}, "Additional properties are not allowed ('penalty'"),
        ({"C": [], "class_weight": [None]}, "C: [] should be non-empty"),
        ({"C": [0], "class_weight": [None]}, "C/0: 0 is less than or equal to the minimum of 0"),
        ({"C": ["big"], "class_weight": [None]}, "C/0: 'big' is not of type 'number'"),
        ({"C": [1.0, 1.0], "class_weight": [None]}, "has non-unique elements"),
        ({"C": 1.0, "class_weight": [None]}, "C: 1.0 is not of type 'array'"),
        ({"C": [1.0], "class_weight": ["sometimes"]}, "class_weight/0: 'sometimes' is not one of"),
        ([1.0], "grid: [1.0] is not of type 'object'"),
    ],
)
def test_bad_logistic_regression_grids_say_what_is_wrong(grid, message):
    with pytest.raises(GridError) as err:
        validate_grid("logistic_regression", grid)
    assert message in str(err.value)
    assert str(err.value).startswith("logistic_regression grid: ")


def test_forest_values_are_normalised_and_unbounded_depth_is_allowed():
    grid = validate_grid("random_forest", {"n_estimators": [50.0], "max_depth": [None, 4], "min_samples_leaf": [1]})
    assert grid == {"n_estimators": [50], "max_depth": [None, 4], "min_samples_leaf": [1]}
    assert isinstance(grid["n_estimators"][0], int)
    with pytest.raises(GridError, match="n_estimators/0: 2.5 is not of type 'integer'"):
        validate_grid("random_forest", {"n_estimators": [2.5], "max_depth": [4], "min_samples_leaf": [1]})
    with pytest.raises(GridError, match="True is not of type 'integer'"):
        validate_grid("random_forest", {"n_estimators": [True], "max_depth": [4], "min_samples_leaf": [1]})


def test_oversized_grids_and_unknown_families_are_refused():
    huge = {"n_estimators": list(range(1, 9)), "max_depth": list(range(1, 9)), "min_samples_leaf": [1, 2]}
    with pytest.raises(GridError, match=f"128 candidates, more than the limit of {MAX_CANDIDATES}"):
        validate_grid("random_forest", huge)
    with pytest.raises(GridError, match="unknown model family 'xgboost'"):
        validate_grid("xgboost", {})


# --- DAG Params: Airflow validates them with the same schemas ---------------------------------


@pytest.fixture(scope="module")
def params():
    from mlops_pipelines.orchestration.training_dag import training_params

    return training_params(PENGUINS)


def test_param_defaults_are_valid_and_are_the_default_grids(params):
    assert params[grid_param_name("logistic_regression")].resolve() == default_grids()["logistic_regression"]
    assert params[grid_param_name("random_forest")].resolve() == default_grids()["random_forest"]
    assert params["auto_promote"].resolve() is False
    assert params["selection_metric"].resolve() == "f1_macro"
    assert params["cv_folds"].resolve() == 5 and params["engineered_features"].resolve() is False
    assert params["svm_grid"].resolve({}) == {}  # family off


def test_covertype_offers_no_engineered_features_and_no_default_svm():
    from mlops_pipelines.orchestration.training_dag import training_params

    params = training_params(COVERTYPE)
    assert "engineered_features" not in params
    assert params["svm_grid"].resolve() == {}
    with pytest.raises(ValueError, match="covertype has no engineered features"):
        TrainingConfig.from_params(COVERTYPE, {"engineered_features": True})


@pytest.mark.parametrize(
    "name, value",
    [
        ("logistic_regression_grid", {"C": [], "class_weight": [None]}),
        ("logistic_regression_grid", {"C": [-1], "class_weight": [None]}),
        ("random_forest_grid", {"n_estimators": [10], "max_depth": [0], "min_samples_leaf": [1]}),
        ("random_forest_grid", {"n_estimators": [10], "max_depth": [4]}),
        ("test_size", 1.0),
        ("test_size", 0),
        ("random_state", -1),
        ("selection_metric", "roc_auc"),
        ("auto_promote", "yes"),
        ("cv_folds", 1),
        ("cv_folds", 2.5),
        ("engineered_features", "yes"),
        ("svm_grid", {"C": [1.0]}),
    ],
)
def test_params_refuse_bad_values(params, name, value):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        params[name].resolve(value)


def test_params_accept_a_larger_grid_at_trigger_time(params):
    bigger = {"n_estimators": [50, 200], "max_depth": [None, 24], "min_samples_leaf": [1]}
    assert params["random_forest_grid"].resolve(bigger) == bigger


# --- The settings of a run --------------------------------------------------------------------


def test_config_from_default_params():
    config = TrainingConfig.from_params(PENGUINS, {})
    assert config.experiment_name == "penguins-training"
    assert config.model_name == "penguins-classifier"
    assert (config.test_size, config.random_state, config.selection_metric) == (0.2, 42, "f1_macro")
    assert config.auto_promote is False
    assert config.cv_folds == 5 and config.engineered_features is False
    assert config.grids == default_grids(PENGUINS)


def test_config_from_overriding_params():
    config = TrainingConfig.from_params(
        PENGUINS,
        {
            "logistic_regression_grid": {"C": [2], "class_weight": [None]},
            "auto_promote": True,
            "selection_metric": "log_loss",
            "test_size": 0.3,
            "cv_folds": 3,
            "engineered_features": True,
        },
    )
    assert config.cv_folds == 3 and config.engineered_features is True
    assert config.grids["logistic_regression"] == {"C": [2], "class_weight": [None]}
    assert config.grids["random_forest"] == default_grids()["random_forest"]
    assert config.auto_promote and config.selection_metric == "log_loss"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"test_size": 1.5}, "test_size must be between 0 and 1"),
        ({"selection_metric": "auc"}, "unknown selection metric 'auc'"),
        ({"auto_promote": "false"}, "auto_promote must be true or false"),
        ({"engineered_features": "true"}, "engineered_features must be true or false"),
        ({"cv_folds": 1}, "cv_folds must be between 2 and 20, got 1: cross-validation needs at least 2 folds"),
        ({"random_forest_grid": {"n_estimators": [0], "max_depth": [2], "min_samples_leaf": [1]}}, "random_forest grid: "),
    ],
)
def test_config_refuses_what_the_params_would(params, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig.from_params(PENGUINS, params)
