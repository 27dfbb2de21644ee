"""Feature specs as the training DAGs log them with each model (test data)."""

PENGUINS_SPEC = {
    "dataset": "penguins",
    "features": [
        {"name": "island", "kind": "categorical", "type": "string", "categories": ["Biscoe", "Dream", "Torgersen"], "nullable": False},
        {"name": "bill_length_mm", "kind": "numeric", "type": "number", "minimum": 25.0, "maximum": 70.0, "unit": "mm", "nullable": False},
        {"name": "bill_depth_mm", "kind": "numeric", "type": "number", "minimum": 10.0, "maximum": 25.0, "unit": "mm", "nullable": False},
        {"name": "flipper_length_mm", "kind": "numeric", "type": "number", "minimum": 160.0, "maximum": 240.0, "unit": "mm", "nullable": False},
        {"name": "body_mass_g", "kind": "numeric", "type": "number", "minimum": 2500.0, "maximum": 6500.0, "unit": "g", "nullable": False},
        {"name": "sex", "kind": "categorical", "type": "string", "categories": ["female", "male"], "nullable": True},
    ],
    "target": {"name": "species", "classes": ["Adelie", "Chinstrap", "Gentoo"],
               "class_names": {"Adelie": "Adélie penguin", "Chinstrap": "Chinstrap penguin", "Gentoo": "Gentoo penguin"}},
}

SOILS = ["C2702", "C2703", "C4704", "C5151", "C7745"]
COVERTYPE_SPEC = {
    "dataset": "covertype",
    "features": [
        {"name": "Elevation", "kind": "numeric", "type": "integer", "minimum": 1859, "maximum": 3858, "unit": "m", "nullable": False},
        {"name": "Slope", "kind": "numeric", "type": "integer", "minimum": 0, "maximum": 66, "unit": "degrees", "nullable": False},
        {"name": "Wilderness_Area", "kind": "categorical", "type": "string", "categories": ["Rawah", "Neota", "Comanche", "Cache"], "nullable": False},
        {"name": "Soil_Type", "kind": "categorical", "type": "string", "categories": SOILS, "nullable": False},
    ],
    "target": {"name": "Cover_Type", "classes": [1, 2, 3], "class_names": {"1": "Spruce/Fir", "2": "Lodgepole Pine", "3": "Ponderosa Pine"}},
}

PENGUIN_ROW = {"island": "Biscoe", "bill_length_mm": 45.2, "bill_depth_mm": 15.8, "flipper_length_mm": 215, "body_mass_g": 5300, "sex": "male"}
COVER_ROW = {"Elevation": 2783, "Slope": 6, "Wilderness_Area": "Comanche", "Soil_Type": "C4704"}
