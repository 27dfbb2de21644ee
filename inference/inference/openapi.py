"""The OpenAPI document of what is served now.

FastAPI documents the routes; this fills in what only the served models know:
each predict body's row schema and working examples (from each production
model's logged feature spec), and the served model and dataset names.
"""

from __future__ import annotations

from typing import Any

from inference import original_clients
from inference.registry import LoadedModel
from inference.settings import Settings

PREDICT_PATHS = ("/models/{name}/predict", "/predict/{dataset}")


def with_row_schemas(schema: dict[str, Any], models: dict[str, LoadedModel], settings: Settings) -> dict[str, Any]:
    """Give the predict bodies the row schema and input example of every production model.

    Generated from each model's logged feature spec, so clients, the docs page and
    fuzzers see the real contract of what is being served now.
    """
    _with_served_names(schema, settings)
    if not models:
        return schema
    max_rows = settings.max_batch_rows
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    rows, examples = [], {}
    for name, model in sorted(models.items()):
        components[f"{name}.row"] = model.spec.row_schema()
        rows.append({"$ref": f"#/components/schemas/{name}.row"})
        if model.input_example:
            examples[f"{name}: one row"] = {"summary": f"One row for {name} version {model.version}", "value": model.input_example[0]}
            examples[f"{name}: batch"] = {"summary": f"A batch for {name}", "value": {"rows": model.input_example[:3]}}
    row = rows[0] if len(rows) == 1 else {"anyOf": rows}
    batch = {
        "type": "object",
        "required": ["rows"],
        "additionalProperties": False,
        "properties": {"rows": {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}},
    }
    for path in PREDICT_PATHS:
        content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        content["schema"] = {"anyOf": [row, batch], "description": content["schema"].get("description")}
        if examples:
            content["examples"] = examples
    return _with_original_client_schemas(schema, models.get(settings.penguins_model), models.get(settings.covertype_model))


def _request_content(schema: dict[str, Any], path: str) -> dict[str, Any]:
    return schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]


def _with_original_client_schemas(schema: dict[str, Any], penguins: LoadedModel | None, covertype: LoadedModel | None) -> dict[str, Any]:
    """The original clients' bodies and working examples, from the same served specs."""
    components = schema["components"]["schemas"]
    penguin_row = {"$ref": f"#/components/schemas/{penguins.name}.row"} if penguins else None
    bodies = original_clients.request_schemas(penguin_row, covertype.spec if covertype else None)
    shapes, examples = [], {}
    if penguins:
        shapes.append(penguin_row)
        batch = _request_content(schema, "/predict/batch")
        batch["schema"] = bodies["penguins"]
        if penguins.input_example:
            examples["one penguin"] = {"summary": f"{penguins.name} version {penguins.version}", "value": penguins.input_example[0]}
            batch["examples"] = {"two penguins": {"summary": "A batch", "value": {"penguins": penguins.input_example[:2]}}}
    if covertype:
        components["covertype.features"] = bodies["features"]
        shapes.append({"$ref": "#/components/schemas/covertype.features"})
        if covertype.input_example:
            values = [covertype.input_example[0][name] for name in covertype.spec.names]
            examples["covertype features"] = {
                "summary": f"{covertype.name} version {covertype.version}: a row as data_api delivers it",
                "value": {"features": values},
            }
    if shapes:
        content = _request_content(schema, "/predict")
        content["schema"] = {"anyOf": shapes, "description": content["schema"].get("description")}
        if examples:
            content["examples"] = examples
    return schema


def _with_served_names(schema: dict[str, Any], settings: Settings) -> None:
    """The path parameters list the names served here, for clients and fuzzers."""
    enums = {"name": settings.model_names, "dataset": list(settings.datasets)}
    for operations in schema["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in enums:
                    parameter["schema"]["enum"] = enums[parameter["name"]]
