"""A real local HTTP server answering /api/v1/query_range as Prometheus does, with canned series per query."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakePrometheus:
    def __init__(self) -> None:
        self.series: dict[str, list[dict]] = {}
        self.queries: list[str] = []
        self.status = 200
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def on(self, query: str, labels: dict[str, str], values: list[tuple[float, float]]) -> None:
        self.series.setdefault(query, []).append({"metric": labels, "values": [[t, str(v)] for t, v in values]})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                query = parse_qs(url.query).get("query", [""])[0]
                fake.queries.append(query)
                if url.path != "/api/v1/query_range" or fake.status != 200:
                    body = {"status": "error", "errorType": "internal", "error": "canned failure"}
                    status = fake.status if fake.status != 200 else 404
                else:
                    body = {"status": "success", "data": {"resultType": "matrix", "result": fake.series.get(query, [])}}
                    status = 200
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
