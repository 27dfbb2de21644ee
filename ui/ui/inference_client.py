"""A small typed client of the inference service's HTTP API.

Every failure comes out as an `InferenceError` subclass whose message can be
shown to a person as it is; nothing else escapes (no requests exceptions, no
KeyErrors on an unexpected body).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from ui.feature_spec import FeatureSpec, UnknownSpecVersion

# Connect fast (a down service must show at once), read long enough for a
# batch of 1000 rows.
TIMEOUT = (3.05, 60)


class InferenceError(Exception):
    """Inference did not give what was asked; the message is for people."""


class InferenceUnreachable(InferenceError):
    """No answer at all: the service is down or its address is wrong."""


class ModelNotReady(InferenceError):
    """503: no version can answer yet (no production version, still loading, registry down)."""


class NotFound(InferenceError):
    """404: unknown model, version or alias."""


class UnexpectedAnswer(InferenceError):
    """Any other status, or a body that is not what the API documents."""


@dataclass(frozen=True)
class FieldProblem:
    field: str
    reason: str
    row: int | None = None


class InputRejected(InferenceError):
    """422: the row(s) do not fit the model's feature spec."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems) or "the input was rejected")


@dataclass(frozen=True)
class VersionInfo:
    version: str
    aliases: tuple[str, ...] = ()
    run_id: str | None = None
    status: str | None = None
    created_at: float | None = None


@dataclass(frozen=True)
class ModelSummary:
    """One served model as GET /models lists it."""

    name: str
    dataset: str
    production_version: str | None
    aliases: dict[str, str]
    versions: tuple[VersionInfo, ...]
    loaded_versions: tuple[str, ...] = ()
    state: str | None = None
    state_detail: str = ""


@dataclass(frozen=True)
class ModelDetail:
    """One version of a model as GET /models/{name} describes it."""

    name: str
    version: str
    run_id: str | None
    metrics: dict[str, float]
    spec: FeatureSpec
    input_example: list[dict[str, Any]]
    classes: tuple[Any, ...]
    # Candidates of its training grid evaluated / in the grid; None when not recorded.
    candidates_evaluated: int | None = None
    candidates_total: int | None = None
    partial_grid: bool = False


@dataclass(frozen=True)
class AliasMove:
    """One move of a model's alias, as inference recorded it (GET /models/{name}/history)."""

    alias: str
    from_version: str | None
    to_version: str | None
    path: str  # webhook, poll or rollback
    moved_at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class Prediction:
    label: Any
    label_name: str
    probabilities: dict[str, float] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        return self.probabilities.get(str(self.label), max(self.probabilities.values(), default=0.0))


@dataclass(frozen=True)
class PredictionResult:
    model: str
    version: str
    predictions: list[Prediction]


def _grid(grid: Any) -> dict[str, Any]:
    """The version's grid coverage (GET /models/{name} `grid`), when inference reports it."""
    if not isinstance(grid, dict):
        return {}
    return {
        "candidates_evaluated": int(grid["candidates_evaluated"]),
        "candidates_total": int(grid["candidates_total"]),
        "partial_grid": bool(grid.get("partial")),
    }


def _query(version: str | None, alias: str | None) -> dict[str, str]:
    if version is not None:
        return {"version": str(version)}
    if alias is not None:
        return {"alias": alias}
    return {}


class InferenceClient:
    def __init__(self, base_url: str, session: requests.Session | None = None, timeout: Any = TIMEOUT, api_key: str = ""):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        if api_key:
            # Inference's predict routes need it when INFERENCE_API_KEYS is set.
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    # -- the API -------------------------------------------------------------

    def models(self) -> list[ModelSummary]:
        body = self._call("GET", "/models")
        try:
            return [_model_summary(m) for m in body["models"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise UnexpectedAnswer(f"inference answered GET /models with an unexpected body ({exc!r})") from None

    def model_detail(self, name: str, version: str | None = None, alias: str | None = None) -> ModelDetail:
        body = self._call("GET", f"/models/{name}", params=_query(version, alias))
        try:
            return ModelDetail(
                name=str(body["name"]),
                version=str(body["version"]),
                run_id=body.get("run_id"),
                metrics=dict(body.get("metrics") or {}),
                spec=FeatureSpec.from_json(body["feature_spec"]),
                input_example=[r for r in (body.get("input_example") or []) if isinstance(r, dict)],
                classes=tuple(body.get("classes") or ()),
                **_grid(body.get("grid")),
            )
        except UnknownSpecVersion as exc:
            raise UnexpectedAnswer(f"{name} version {body.get('version')} cannot be used here: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise UnexpectedAnswer(f"inference answered GET /models/{name} with an unexpected body ({exc!r})") from None

    def predict(self, name: str, row: dict[str, Any], version: str | None = None, alias: str | None = None) -> PredictionResult:
        """Predict one row (sent as a single object)."""
        return self._predict(name, row, version, alias)

    def predict_batch(
        self, name: str, rows: list[dict[str, Any]], version: str | None = None, alias: str | None = None
    ) -> PredictionResult:
        """Predict rows sent as a batch; a rejection names each bad row by its index in `rows`."""
        return self._predict(name, {"rows": rows}, version, alias)

    def _predict(self, name: str, payload: dict[str, Any], version: str | None, alias: str | None) -> PredictionResult:
        body = self._call("POST", f"/models/{name}/predict", params=_query(version, alias), json=payload)
        try:
            return PredictionResult(
                model=str(body["model"]),
                version=str(body["version"]),
                predictions=[
                    Prediction(
                        label=p["label"],
                        label_name=str(p.get("label_name") or p["label"]),
                        probabilities={str(k): float(v) for k, v in (p.get("probabilities") or {}).items()},
                    )
                    for p in body["predictions"]
                ],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UnexpectedAnswer(f"inference answered the prediction with an unexpected body ({exc!r})") from None

    # -- plumbing ------------------------------------------------------------

    def history(self, name: str) -> list[AliasMove]:
        """The model's alias moves, newest first."""
        body = self._call("GET", f"/models/{name}/history")
        try:
            return [
                AliasMove(str(m["alias"]), m.get("from_version"), m.get("to_version"), str(m["path"]), str(m["moved_at"]))
                for m in body["moves"]
            ]
        except (KeyError, TypeError) as exc:
            raise UnexpectedAnswer(f"inference answered GET /models/{name}/history with an unexpected body ({exc!r})") from None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.base_url + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.exceptions.InvalidJSONError as exc:
            raise InputRejected([FieldProblem("(request)", f"cannot be sent as JSON: {exc}")]) from None
        except requests.Timeout:
            raise InferenceUnreachable(
                f"The inference service at {self.base_url} did not answer in time. Is it overloaded or stuck?"
            ) from None
        except requests.RequestException as exc:
            raise InferenceUnreachable(
                f"The inference service at {self.base_url} cannot be reached ({type(exc).__name__}). Is it running?"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if 200 <= status < 300:
            if body is None:
                raise UnexpectedAnswer(f"inference answered {method} {path} with a body that is not JSON")
            return body
        # Every error answer has one shape: {"detail": [{"type", "loc", "msg", "row"?}, ...]}.
        problems = _problems(body)
        text = "; ".join(p.reason for p in problems) or response.text[:300] or response.reason
        if status == 422:
            raise InputRejected(problems)
        if status == 503:
            raise ModelNotReady(text)
        if status == 404:
            raise NotFound(text)
        raise UnexpectedAnswer(f"inference answered {method} {path} with HTTP {status}: {text}")


def _problems(body: Any) -> list[FieldProblem]:
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, list):
        return []
    return [_field_problem(p) for p in detail]


def _field_problem(raw: Any) -> FieldProblem:
    if not isinstance(raw, dict):
        return FieldProblem("(request)", str(raw))
    row = raw.get("row")
    # The field is the last step of the location (["body", "rows", 2, "island"] -> island).
    loc = [p for p in raw.get("loc") or () if p != "body"]
    field_name = str(loc[-1]) if loc else "(request)"
    return FieldProblem(field_name, str(raw.get("msg") or raw), row if isinstance(row, int) else None)


def _model_summary(raw: dict[str, Any]) -> ModelSummary:
    status = raw.get("status") or {}
    return ModelSummary(
        name=str(raw["name"]),
        dataset=str(raw.get("dataset") or raw["name"]),
        production_version=None if raw.get("production_version") is None else str(raw["production_version"]),
        aliases={str(k): str(v) for k, v in (raw.get("aliases") or {}).items()},
        versions=tuple(
            VersionInfo(
                version=str(v["version"]),
                aliases=tuple(v.get("aliases") or ()),
                run_id=v.get("run_id"),
                status=v.get("status"),
                created_at=v.get("created_at"),
            )
            for v in raw.get("versions") or ()
        ),
        loaded_versions=tuple(str(v) for v in raw.get("loaded_versions") or ()),
        state=status.get("state"),
        state_detail=str(status.get("detail") or ""),
    )
