"""The one definition of each dataset: its features, their types and domains, and its target.

Validation, the clean tables, training and the feature spec logged with every
model (which inference and the UI read back from MLflow) all derive from these
objects. Domains are the documented ones, not what a sample happens to contain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_pipelines import mlflow_names

# The version of the feature-spec format below. Readers (inference, the UI) refuse a
# spec whose version they do not know rather than guess at it: bump it on any change
# a reader must understand, and teach the readers first.
SPEC_VERSION = 1


@dataclass(frozen=True)
class Numeric:
    name: str
    minimum: float
    maximum: float
    unit: str
    description: str
    integer: bool = False
    nullable: bool = False

    kind = "numeric"

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "type": "integer" if self.integer else "number",
            "minimum": self.minimum,
            "maximum": self.maximum,
            "unit": self.unit,
            "description": self.description,
            "nullable": self.nullable,
        }


@dataclass(frozen=True)
class Categorical:
    name: str
    categories: tuple[str, ...]
    description: str
    nullable: bool = False

    kind = "categorical"

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "type": "string",
            "categories": list(self.categories),
            "description": self.description,
            "nullable": self.nullable,
        }


Feature = Numeric | Categorical


@dataclass(frozen=True)
class DatasetContract:
    name: str
    features: tuple[Feature, ...]
    target: str
    # Class labels as the model predicts them, and their names in words.
    classes: tuple[Any, ...]
    class_names: dict[Any, str] = field(default_factory=dict)
    description: str = ""

    @property
    def integer_classes(self) -> bool:
        """Whether the class labels are integers (Covertype's 1..7) rather than names (penguin species)."""
        return all(isinstance(c, int) and not isinstance(c, bool) for c in self.classes)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def numeric(self) -> list[Numeric]:
        return [f for f in self.features if isinstance(f, Numeric)]

    @property
    def categorical(self) -> list[Categorical]:
        return [f for f in self.features if isinstance(f, Categorical)]

    @property
    def registered_model_name(self) -> str:
        return mlflow_names.registered_model_name(self.name)

    @property
    def raw_table(self) -> str:
        return f"{self.name}_raw"

    @property
    def clean_table(self) -> str:
        return f"{self.name}_clean"

    @property
    def rejected_table(self) -> str:
        return f"{self.name}_rejected"

    @property
    def clean_asset_uri(self) -> str:
        return f"mysql://mysql:3306/mlops_data/{self.clean_table}"

    def feature_spec(self) -> dict[str, Any]:
        """JSON-ready description stored with every model of this dataset."""
        return {
            "spec_version": SPEC_VERSION,
            "dataset": self.name,
            "description": self.description,
            "features": [f.spec() for f in self.features],
            "target": {
                "name": self.target,
                "classes": list(self.classes),
                "class_names": {str(k): v for k, v in self.class_names.items()},
            },
        }


PENGUINS = DatasetContract(
    name="penguins",
    description="Palmer Archipelago (Antarctica) penguins, 2007-2009 (Gorman, Williams & Fraser).",
    features=(
        Categorical("island", ("Biscoe", "Dream", "Torgersen"), "Island in the Palmer Archipelago"),
        Numeric("bill_length_mm", 25.0, 70.0, "mm", "Bill (culmen) length"),
        Numeric("bill_depth_mm", 10.0, 25.0, "mm", "Bill (culmen) depth"),
        Numeric("flipper_length_mm", 160.0, 240.0, "mm", "Flipper length"),
        Numeric("body_mass_g", 2500.0, 6500.0, "g", "Body mass"),
        # Sex was not recorded for some birds; the model imputes it.
        Categorical("sex", ("female", "male"), "Sex", nullable=True),
    ),
    target="species",
    classes=("Adelie", "Chinstrap", "Gentoo"),
    class_names={"Adelie": "Adélie penguin", "Chinstrap": "Chinstrap penguin", "Gentoo": "Gentoo penguin"},
)

# Soil types as "C" + USFS ELU code, in the order of UCI's covtype.info (Soil_Type1..40).
SOIL_CODES = (
    "C2702",
    "C2703",
    "C2704",
    "C2705",
    "C2706",
    "C2717",
    "C3501",
    "C3502",
    "C4201",
    "C4703",
    "C4704",
    "C4744",
    "C4758",
    "C5101",
    "C5151",
    "C6101",
    "C6102",
    "C6731",
    "C7101",
    "C7102",
    "C7103",
    "C7201",
    "C7202",
    "C7700",
    "C7701",
    "C7702",
    "C7709",
    "C7710",
    "C7745",
    "C7746",
    "C7755",
    "C7756",
    "C7757",
    "C7790",
    "C8703",
    "C8707",
    "C8708",
    "C8771",
    "C8772",
    "C8776",
)
WILDERNESS_AREAS = ("Rawah", "Neota", "Comanche", "Cache")

COVERTYPE = DatasetContract(
    name="covertype",
    description="Forest cover type of 30 x 30 m cells in the Roosevelt National Forest, Colorado (UCI Covertype).",
    # Numeric domains: the documented extremes of the full UCI data (covtype.info).
    features=(
        Numeric("Elevation", 1859, 3858, "m", "Elevation", integer=True),
        Numeric("Aspect", 0, 360, "degrees azimuth", "Aspect", integer=True),
        Numeric("Slope", 0, 66, "degrees", "Slope", integer=True),
        Numeric("Horizontal_Distance_To_Hydrology", 0, 1397, "m", "Horizontal distance to nearest surface water", integer=True),
        Numeric("Vertical_Distance_To_Hydrology", -173, 601, "m", "Vertical distance to nearest surface water", integer=True),
        Numeric("Horizontal_Distance_To_Roadways", 0, 7117, "m", "Horizontal distance to nearest roadway", integer=True),
        Numeric("Hillshade_9am", 0, 255, "index 0-255", "Hillshade index at 9am, summer solstice", integer=True),
        Numeric("Hillshade_Noon", 0, 255, "index 0-255", "Hillshade index at noon, summer solstice", integer=True),
        Numeric("Hillshade_3pm", 0, 255, "index 0-255", "Hillshade index at 3pm, summer solstice", integer=True),
        Numeric("Horizontal_Distance_To_Fire_Points", 0, 7173, "m", "Horizontal distance to nearest wildfire ignition point", integer=True),
        Categorical("Wilderness_Area", WILDERNESS_AREAS, "Wilderness area"),
        Categorical("Soil_Type", SOIL_CODES, "Soil type (USFS ELU code)"),
    ),
    target="Cover_Type",
    classes=(1, 2, 3, 4, 5, 6, 7),
    class_names={
        1: "Spruce/Fir",
        2: "Lodgepole Pine",
        3: "Ponderosa Pine",
        4: "Cottonwood/Willow",
        5: "Aspen",
        6: "Douglas-fir",
        7: "Krummholz",
    },
)

CONTRACTS: dict[str, DatasetContract] = {c.name: c for c in (PENGUINS, COVERTYPE)}


# JSON Schema of the feature-spec format, for readers in other services and languages.
FEATURE_SPEC_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Feature spec",
    "description": f"A model's input contract, logged with every model (MLmodel metadata key {mlflow_names.FEATURE_SPEC_METADATA_KEY}).",
    "type": "object",
    "required": ["spec_version", "dataset", "features", "target"],
    "properties": {
        "spec_version": {"const": SPEC_VERSION},
        "dataset": {"type": "string"},
        "description": {"type": "string"},
        "features": {
            "type": "array",
            "minItems": 1,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "kind", "type", "minimum", "maximum", "unit", "description", "nullable"],
                        "properties": {
                            "name": {"type": "string"},
                            "kind": {"const": "numeric"},
                            "type": {"enum": ["integer", "number"]},
                            "minimum": {"type": "number"},
                            "maximum": {"type": "number"},
                            "unit": {"type": "string"},
                            "description": {"type": "string"},
                            "nullable": {"type": "boolean"},
                        },
                    },
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "kind", "type", "categories", "description", "nullable"],
                        "properties": {
                            "name": {"type": "string"},
                            "kind": {"const": "categorical"},
                            "type": {"const": "string"},
                            "categories": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                            "description": {"type": "string"},
                            "nullable": {"type": "boolean"},
                        },
                    },
                ]
            },
        },
        "target": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "classes", "class_names"],
            "properties": {
                "name": {"type": "string"},
                "classes": {"type": "array", "minItems": 2},
                "class_names": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    },
}


# Names and limits the services must agree on besides the feature spec, the MLflow
# ones taken from mlflow_names. Inference and the UI keep their own constants, held
# to these by their tests (contract/conventions.json).
CONVENTIONS: dict[str, Any] = {
    "model_name_suffix": mlflow_names.MODEL_NAME_SUFFIX,
    "production_alias": mlflow_names.PRODUCTION_ALIAS,
    "challenger_alias": mlflow_names.CHALLENGER_ALIAS,
    "feature_spec_metadata_key": mlflow_names.FEATURE_SPEC_METADATA_KEY,
    "feature_spec_file": mlflow_names.FEATURE_SPEC_FILE,
    "max_batch_rows": 1000,  # rows per predict request
    # Tags on every registered version, read back by inference's GET /model/info.
    "version_tags": {"family": mlflow_names.TAG_FAMILY, "dag_id": mlflow_names.TAG_DAG_ID, "dag_run_id": mlflow_names.TAG_RUN_ID},
    # Metrics of a version's run (inference's GET /models/{name} passes them on) that the UI's Model tab reads.
    "version_metrics": {
        "cv_accuracy_mean": mlflow_names.cv_mean("accuracy"),
        "cv_accuracy_std": mlflow_names.cv_std("accuracy"),
        "test_accuracy": mlflow_names.test_metric("accuracy"),
        "test_f1_macro": mlflow_names.test_metric("f1_macro"),
        "test_split_rows": mlflow_names.TEST_ROWS,
    },
}
