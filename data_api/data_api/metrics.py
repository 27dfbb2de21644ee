"""Prometheus metrics of the service (GET /metrics): requests by route and status,
latency by route, and what /data served per group."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        # Own registry: several apps in one process (tests) do not collide.
        self.registry = CollectorRegistry()
        self.requests = Counter("data_api_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "data_api_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.batches = Counter(
            "data_api_batches_served_total",
            "Answers of GET /data with rows, by group and batch",
            ["group", "batch"],
            registry=self.registry,
        )
        self.rows = Counter("data_api_rows_served_total", "Rows served by GET /data, by group", ["group"], registry=self.registry)

    def served(self, group_number: int, batch_number: int, n_rows: int) -> None:
        self.batches.labels(str(group_number), str(batch_number)).inc()
        self.rows.labels(str(group_number)).inc(n_rows)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times requests by route template, not raw
    path (so /groups/3 and /groups/4 are one series)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], path, str(status["code"])).inc()
            self.metrics.latency.labels(scope["method"], path).observe(time.perf_counter() - started)
