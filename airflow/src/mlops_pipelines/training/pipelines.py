"""One scikit-learn Pipeline per candidate: preprocessing from the contract, then the classifier.

The logged model is the whole pipeline, so it takes raw feature rows as the
clean table (and the inference service) has them: missing values are imputed,
numbers scaled, categories one-hot encoded, and (Param `engineered_features`)
the contract's engineered features computed from the raw fields (`features`).
"""

from __future__ import annotations

from sklearn.base import ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops_pipelines.contracts import DatasetContract
from mlops_pipelines.training.features import engineered_transformers


def build_preprocessor(contract: DatasetContract, engineered: bool = False) -> ColumnTransformer:
    numeric = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
        ]
    )
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            # The contract's documented categories, not those a sample happens to hold:
            # every valid value (e.g. soil C5151, absent from the Covertype sample) gets
            # its column, and a value outside the contract encodes as all zeros.
            (
                "onehot",
                OneHotEncoder(
                    categories=[list(f.categories) for f in contract.categorical],
                    handle_unknown="ignore",
                    sparse_output=False,
                ),
            ),
        ]
    )
    transformers = []
    if contract.numeric:
        transformers.append(("numeric", numeric, [f.name for f in contract.numeric]))
    if contract.categorical:
        transformers.append(("categorical", categorical, [f.name for f in contract.categorical]))
    if engineered:
        transformers.extend(engineered_transformers(contract))
    # Columns outside the contract are dropped, so an extra field cannot change the model.
    return ColumnTransformer(transformers, remainder="drop")


def build_pipeline(contract: DatasetContract, classifier: ClassifierMixin, engineered: bool = False) -> Pipeline:
    return Pipeline([("preprocess", build_preprocessor(contract, engineered)), ("classifier", classifier)])


def for_single_rows(pipeline: Pipeline) -> Pipeline:
    """The fitted pipeline made ready for serving, in place.

    A forest fitted with n_jobs=2 would also predict with 2 threads: for the one
    row an inference request holds, starting threads costs more than it saves,
    and every request of the inference service would compete for the same cores.
    """
    classifier = pipeline.named_steps["classifier"]
    if classifier.get_params().get("n_jobs") not in (None, 1):
        classifier.set_params(n_jobs=1)
    return pipeline
