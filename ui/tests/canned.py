"""Canned inference answers, shaped like the real service's (see inference/inference/main.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fake_inference import FakeInference, Request

PENGUINS = "penguins-classifier"
COVERTYPE = "covertype-classifier"

# The feature specs as training logs them: the golden files in contract/, never hand copies.
CONTRACT = Path(__file__).resolve().parents[2] / "contract"
PENGUINS_SPEC = json.loads((CONTRACT / "specs" / "penguins.json").read_text())
COVERTYPE_SPEC = json.loads((CONTRACT / "specs" / "covertype.json").read_text())
PENGUINS_EXAMPLE = [
    {
        "island": "Torgersen",
        "bill_length_mm": 39.1,
        "bill_depth_mm": 18.7,
        "flipper_length_mm": 181.0,
        "body_mass_g": 3750.0,
        "sex": "male",
    },
    {"island": "Biscoe", "bill_length_mm": 46.1, "bill_depth_mm": 13.2, "flipper_length_mm": 211.0, "body_mass_g": 4500.0, "sex": "female"},
]

COVERTYPE_EXAMPLE = [
    {
        "Elevation": 2596,
        "Aspect": 51,
        "Slope": 3,
        "Horizontal_Distance_To_Hydrology": 258,
        "Vertical_Distance_To_Hydrology": 0,
        "Horizontal_Distance_To_Roadways": 510,
        "Hillshade_9am": 221,
        "Hillshade_Noon": 232,
        "Hillshade_3pm": 148,
        "Horizontal_Distance_To_Fire_Points": 6279,
        "Wilderness_Area": "Rawah",
        "Soil_Type": "C7745",
    },
]

SPECS = {PENGUINS: PENGUINS_SPEC, COVERTYPE: COVERTYPE_SPEC}
EXAMPLES = {PENGUINS: PENGUINS_EXAMPLE, COVERTYPE: COVERTYPE_EXAMPLE}
# As a registered version's run logs them (contract/conventions.json "version_metrics" names those the UI reads).
METRICS = {
    "3": {"cv_accuracy_mean": 0.9712, "cv_accuracy_std": 0.0121, "test_accuracy": 0.9855, "test_f1_macro": 0.9812, "test_rows": 69.0},
    "2": {"cv_accuracy_mean": 0.9301, "cv_accuracy_std": 0.0200, "test_accuracy": 0.9420, "test_f1_macro": 0.9301, "test_rows": 69.0},
    "4": {"cv_accuracy_mean": 0.9750, "cv_accuracy_std": 0.0090, "test_accuracy": 0.9900, "test_f1_macro": 0.9870, "test_rows": 69.0},
}


def status(state: str = "ready", version: str | None = "3") -> dict[str, Any]:
    detail = {"ready": f"serving version {version}", "no_production_version": "no version has the alias 'production' yet"}.get(state, state)
    return {"version": version, "state": state, "detail": detail, "checked_at": 1_732_000_000.0}


def listing(
    name: str, production: str | None = "3", versions: tuple[str, ...] = ("4", "3", "2"), aliases: dict[str, str] | None = None
) -> dict[str, Any]:
    if aliases is None:
        aliases = {"production": production, "challenger": "4"} if production else {}
        aliases = {k: v for k, v in aliases.items() if v in versions}
    return {
        "name": name,
        "dataset": name.removesuffix("-classifier"),
        "production_version": production,
        "aliases": aliases,
        "versions": [
            {
                "version": v,
                "aliases": sorted(a for a, av in aliases.items() if av == v),
                "run_id": f"run{v}",
                "status": "READY",
                "created_at": 1_732_000_000_000 + int(v),
            }
            for v in versions
        ],
        "loaded_versions": [production] if production else [],
        "status": status("ready" if production else "no_production_version", production),
    }


def detail(name: str, version: str = "3") -> dict[str, Any]:
    spec = SPECS[name]
    return {
        "name": name,
        "version": version,
        "run_id": f"run{version}",
        "metrics": METRICS.get(version, {}),
        "signature": {"inputs": "[]", "outputs": "[]"},
        "feature_spec": spec,
        "input_example": EXAMPLES[name],
        "classes": spec["target"]["classes"],
        "fast_path": True,
    }


def check_row(spec: dict[str, Any], row: Any, index: int | None) -> list[dict[str, Any]]:
    """The same checks, field names and reasons as inference's feature_spec.check_row (enough of them)."""
    problems = []
    for feature in spec["features"]:
        value = row.get(feature["name"])
        reason = None
        if value is None:
            reason = None if feature["nullable"] else "missing"
        elif feature["kind"] == "categorical" and value not in feature["categories"]:
            reason = f"{value!r} is not one of: {', '.join(feature['categories'])}"
        elif feature["kind"] == "numeric":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                reason = f"must be a number, got {type(value).__name__}"
            elif feature["type"] == "integer" and not float(value).is_integer():
                reason = f"must be an integer, got {value}"
            elif not feature["minimum"] <= value <= feature["maximum"]:
                reason = f"{value} is outside the valid range [{feature['minimum']:g}, {feature['maximum']:g}] {feature['unit']}".rstrip()
        if reason:
            problems.append(problem(feature["name"], reason, index))
    return problems


def problem(field: str, reason: str, row: int | None = None) -> dict[str, Any]:
    """One item of inference's error shape (FastAPI's, with the row index of a batch)."""
    loc = ["body", field] if row is None else ["body", "rows", row, field]
    return {
        "type": "missing" if reason == "missing" else "value_error",
        "loc": loc,
        "msg": reason,
        **({"row": row} if row is not None else {}),
    }


def error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    """An answer such as a 404 or 503 in inference's one error shape."""
    return status, {"detail": [{"type": "not_found" if status == 404 else "unavailable", "loc": [], "msg": message}]}


def label_of(name: str, row: dict[str, Any]) -> Any:
    if name == PENGUINS:
        return {"Biscoe": "Gentoo", "Dream": "Chinstrap", "Torgersen": "Adelie"}[row["island"]]
    return 2 if row["Elevation"] < 3000 else 1


def predictor(name: str, version: str = "3"):
    """A predict route answering like inference: 422 naming every bad row, else one prediction per row."""
    spec = SPECS[name]

    def answer(request: Request):
        version_answering = request.query.get("version") or {"challenger": "4"}.get(request.query.get("alias", ""), version)
        batch = isinstance(request.body, dict) and set(request.body) == {"rows"}
        rows = request.body["rows"] if batch else [request.body]
        problems = [p for i, row in enumerate(rows) for p in check_row(spec, row, i if batch else None)]
        if problems:
            return 422, {"detail": problems}
        predictions = []
        for row in rows:
            label = label_of(name, row)
            classes = spec["target"]["classes"]
            others = (1 - 0.97) / (len(classes) - 1)
            probabilities = {str(c): (0.97 if c == label else others) for c in classes}
            predictions.append({"label": label, "label_name": spec["target"]["class_names"][str(label)], "probabilities": probabilities})
        return 200, {"model": name, "version": version_answering, "predictions": predictions}

    return answer


def serve_models(fake: FakeInference, penguins_production: str | None = "3") -> None:
    """Both models, production 3 (or none for penguins), versions 4 (challenger), 3 and 2."""
    fake.on("GET", "/models", (200, {"models": [listing(PENGUINS, penguins_production), listing(COVERTYPE)]}))
    for name in (PENGUINS, COVERTYPE):
        production = penguins_production if name == PENGUINS else "3"
        if production:
            fake.on("GET", f"/models/{name}", (200, detail(name, production)))
        else:
            fake.on("GET", f"/models/{name}", error(503, f"{name} cannot answer yet: no version of {name} has the alias 'production' yet"))
        for version in ("2", "3", "4"):
            fake.on("GET", f"/models/{name}?version={version}", (200, detail(name, version)))
        fake.on("GET", f"/models/{name}?alias=challenger", (200, detail(name, "4")))
        fake.on("POST", f"/models/{name}/predict", predictor(name, production or "3"))
