"""GET /metrics: what Prometheus scrapes (prometheus/prometheus.yml, job data_api)."""

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value for family in text_string_to_metric_families(r.text) for s in family.samples}


def test_requests_by_route_template_and_status_and_batches_per_group(client: TestClient) -> None:
    assert client.get("/data", params={"group_number": 2}).status_code == 200
    assert client.get("/data", params={"group_number": 2}).status_code == 200
    assert client.get("/data", params={"group_number": 99}).status_code == 422
    assert client.get("/groups/1").status_code == 200
    assert client.get("/groups/3").status_code == 200
    got = samples(client)
    key = lambda name, **labels: (name, frozenset(labels.items()))  # noqa: E731
    assert got[key("data_api_requests_total", method="GET", route="/data", status="200")] == 2
    assert got[key("data_api_requests_total", method="GET", route="/data", status="422")] == 1
    # Route templates, not raw paths: one series for every group.
    assert got[key("data_api_requests_total", method="GET", route="/groups/{group_number}", status="200")] == 2
    assert got[key("data_api_request_duration_seconds_count", method="GET", route="/data")] == 3
    assert got[key("data_api_batches_served_total", group="2", batch="1")] == 2
    # 25 % of a 40-row batch per answer (the fixture's settings).
    assert got[key("data_api_rows_served_total", group="2")] == 20
    assert not any(name == "data_api_batches_served_total" and ("group", "99") in labels for name, labels in got)


def test_metrics_is_not_in_the_api_docs(client: TestClient) -> None:
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
