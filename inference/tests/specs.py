"""Feature specs as the training DAGs log them: the golden files in contract/, never hand copies."""

import json
from pathlib import Path

CONTRACT = Path(__file__).resolve().parents[2] / "contract"


def golden_spec(dataset: str) -> dict:
    return json.loads((CONTRACT / "specs" / f"{dataset}.json").read_text())


PENGUINS_SPEC = golden_spec("penguins")
COVERTYPE_SPEC = golden_spec("covertype")

PENGUIN_ROW = {
    "island": "Biscoe",
    "bill_length_mm": 45.2,
    "bill_depth_mm": 15.8,
    "flipper_length_mm": 215,
    "body_mass_g": 5300,
    "sex": "male",
}
# data_api's first row of the shared file, without its cover type.
COVER_ROW = {
    "Elevation": 2783,
    "Aspect": 48,
    "Slope": 6,
    "Horizontal_Distance_To_Hydrology": 361,
    "Vertical_Distance_To_Hydrology": -4,
    "Horizontal_Distance_To_Roadways": 886,
    "Hillshade_9am": 222,
    "Hillshade_Noon": 227,
    "Hillshade_3pm": 140,
    "Horizontal_Distance_To_Fire_Points": 1052,
    "Wilderness_Area": "Comanche",
    "Soil_Type": "C4704",
}
