"""A real HTTP server standing in for inference: inference is faked at the HTTP boundary only.

Routes answer canned JSON (or a function of the request body), and every
request is recorded with its query and body so tests can check what the UI sent.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, Any]
Handler = Callable[["Request"], Answer]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeInference:
    url: str = ""
    routes: dict[tuple[str, str], Answer | Handler] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def on(self, method: str, path: str, answer: Answer | Handler) -> None:
        """Answer `method path` (path with or without its query string; with it wins)."""
        self.routes[(method, path)] = answer

    def sent(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def answer(self, method: str, raw_path: str, body: Any, headers: dict[str, str] | None = None) -> Answer:
        parts = urlsplit(raw_path)
        request = Request(method, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}, body, headers or {})
        self.requests.append(request)
        route = self.routes.get((method, raw_path)) or self.routes.get((method, parts.path))
        if route is None:
            return 404, {"detail": [{"type": "not_found", "loc": [], "msg": f"no canned answer for {method} {raw_path}"}]}
        return route(request) if callable(route) else route


def serve(fake: FakeInference) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self, body: Any) -> None:
            status, answer = fake.answer(self.command, self.path, body, dict(self.headers))
            payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            self._reply(None)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self._reply(json.loads(self.rfile.read(length) or b"null"))

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
