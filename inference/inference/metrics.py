"""Prometheus metrics of the service (GET /metrics)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Why a prediction was not recorded (predictions_dropped_total{reason}); sampled-out ones are not drops.
DROP_REASONS = ("queue_full", "db_error")
# Why a row production answered was not scored by the challenger (inference_shadow_dropped_rows_total{reason}):
# the shadow queue had no room, more rows came than INFERENCE_SHADOW_MAX_ROWS_PER_SECOND, the challenger's
# feature spec refuses the row, or its scoring failed.
SHADOW_DROP_REASONS = ("queue_full", "rate_limit", "rejected", "error")


class Metrics:
    def __init__(self) -> None:
        # Own registry: several apps in one process (tests) do not collide.
        self.registry = CollectorRegistry()
        self.requests = Counter("inference_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "inference_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.predictions = Counter(
            "inference_predictions_total",
            "Predicted rows by model, version and class",
            ["model", "version", "label"],
            registry=self.registry,
        )
        # Model time per request, for p50/p99 per model (the request latency above includes parsing).
        self.prediction_duration = Histogram(
            "inference_prediction_duration_seconds",
            "Model time per request (validation and predict_proba)",
            ["model", "version"],
            registry=self.registry,
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.model_ready = Gauge(
            "inference_model_ready", "1 when the model's production version is loaded", ["model"], registry=self.registry
        )
        # The prediction log (inference.prediction_log).
        self.predictions_dropped = Counter(
            "predictions_dropped", "Predicted rows the prediction log could not record", ["reason"], registry=self.registry
        )
        for reason in DROP_REASONS:  # present at 0, so rates and alerts see them from the start
            self.predictions_dropped.labels(reason)
        self.predictions_logged = Counter("predictions_logged", "Predicted rows written to the predictions table", registry=self.registry)
        self.prediction_log_queue_rows = Gauge("prediction_log_queue_rows", "Predicted rows waiting to be written", registry=self.registry)
        # Shadow scoring (inference.shadow): the challenger on production's traffic, off the request path.
        self.shadow_rows = Counter(
            "inference_shadow_rows",
            "Rows production answered that the challenger scored too, by whether the two predicted the same class",
            ["model", "production_version", "challenger_version", "agreement"],
            registry=self.registry,
        )
        self.shadow_actual_rows = Counter(
            "inference_shadow_actual_rows",
            "Shadow-scored rows whose true class the caller sent, by version role (production, challenger) and outcome",
            ["model", "production_version", "challenger_version", "role", "outcome"],
            registry=self.registry,
        )
        self.shadow_dropped = Counter(
            "inference_shadow_dropped_rows",
            "Rows production answered that the challenger did not score",
            ["reason"],
            registry=self.registry,
        )
        for reason in SHADOW_DROP_REASONS:
            self.shadow_dropped.labels(reason)
        self.shadow_queue_rows = Gauge("inference_shadow_queue_rows", "Rows waiting to be shadow-scored", registry=self.registry)
        # The shadow log: the shadow predictions into their table, as the prediction log's.
        self.shadow_predictions_dropped = Counter(
            "shadow_predictions_dropped", "Shadow-scored rows the shadow log could not record", ["reason"], registry=self.registry
        )
        for reason in DROP_REASONS:
            self.shadow_predictions_dropped.labels(reason)
        self.shadow_predictions_logged = Counter(
            "shadow_predictions_logged", "Shadow-scored rows written to the shadow_predictions table", registry=self.registry
        )
        self.shadow_log_queue_rows = Gauge("shadow_log_queue_rows", "Shadow-scored rows waiting to be written", registry=self.registry)

        # Label children by their values: `labels()` checks and hashes its arguments under a
        # lock on every call; these are looked up once per label set and kept.
        self._children: dict[tuple[Any, ...], Any] = {}

    def predicted(self, model: str, version: str, keys: list[str]) -> list[Any]:
        """inference_predictions_total's child per class of a model version, in the classes' order."""
        key = ("predictions", model, version)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = [self.predictions.labels(model, version, k) for k in keys]
        return children

    def model_seconds(self, model: str, version: str) -> Any:
        key = ("prediction_duration", model, version)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.prediction_duration.labels(model, version)
        return child

    def request_children(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        """The request counter's and the latency histogram's children of a request."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
        return children

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware (no per-request task like BaseHTTPMiddleware):
    counts requests and times them by route template, not raw path."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            count, latency = self.metrics.request_children(scope["method"], getattr(route, "path", "unmatched"), status["code"])
            count.inc()
            latency.observe(time.perf_counter() - started)
