"""The load balancer's fast test: lb/ (nginx.conf, run.sh) in the image the profile
runs (NGINX_IMAGE, as in docker-compose.scale.yaml), in front of stand-in replicas
on a private Docker network, all under one network alias as compose's replicas are.

    python3 lb/tests/check.py      (the fast tier runs it; needs Docker, stdlib only)

Checks: requests are spread over every replica; a caller's X-Request-ID reaches the
replica and one is made when missing; a replica killed is no failed request (GETs
and POST predictions); a replica started later is taken in; a replica failing
/health is taken out; an oversized body and no replica at all are answered in the
platform's error shape.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

LB_DIR = Path(__file__).resolve().parents[1]
# Keep in step with the defaults in docker-compose.scale.yaml and docker-compose.yaml.
NGINX_IMAGE = os.environ.get("NGINX_IMAGE", "nginx:1.28.0-bookworm")
PYTHON_IMAGE = os.environ.get("PYTHON_IMAGE", "python:3.11-slim")
RUN = uuid.uuid4().hex[:8]
NETWORK = f"lb-check-{RUN}"

# A replica: /health (503 once /tmp/sick exists), and any POST answered with the
# replica's name and the X-Request-ID it was given.
REPLICA = r"""
import http.server, json, os, socket
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body):
        # Head and body in one write, as uvicorn sends a JSON response (both in one
        # event-loop step): a replica killed between its head and its body leaves a
        # truncated answer no streaming proxy can retry (nginx passes the head on).
        data = json.dumps(body).encode()
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        self.wfile.write(head.encode() + data)
    def do_GET(self):
        if self.path == "/health" and os.path.exists("/tmp/sick"):
            return self.answer(503, {"status": "sick"})
        self.answer(200, {"replica": socket.gethostname(), "path": self.path})
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.answer(200, {"replica": socket.gethostname(), "request_id": self.headers.get("X-Request-ID")})
    def log_message(self, *args):
        pass
H.protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn and nginx's upstream pool use it
http.server.ThreadingHTTPServer(("0.0.0.0", 8989), H).serve_forever()
"""


def docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=check).stdout.strip()


def replica(name: str) -> str:
    container = f"lb-check-{RUN}-{name}"
    docker(
        "run", "-d", "--name", container, "--hostname", name, "--network", NETWORK, "--network-alias", "inference",
        "--user", "65534", PYTHON_IMAGE, "python3", "-c", REPLICA,
    )  # fmt: skip
    return container


def call(base: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"{base}{path}", data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait(condition, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := condition():
                return value
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s: {message}\n" + docker("logs", f"lb-check-{RUN}-lb", check=False))


def seen(base: str, n: int, method: str = "GET") -> tuple[set[str], list[int]]:
    replicas, failures = set(), []
    for _ in range(n):
        status, body = call(base, "/predict/penguins", b"{}") if method == "POST" else call(base, "/health")
        if status == 200:
            replicas.add(body["replica"])
        else:
            failures.append(status)
    return replicas, failures


class KeepAliveLoad:
    """Clients POSTing predictions in a loop, each on its own keep-alive connection as
    requests.Session and most HTTP clients do, counting every failure: a reload of
    nginx must not close a connection a request is arriving on."""

    def __init__(self, port: int, clients: int = 4):
        self.port, self.answered, self.failures = port, 0, []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def _client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        while not self._stop.is_set():
            try:
                conn.request("POST", "/predict/penguins", body=b"{}", headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    self.answered += 1
                else:
                    self.failures.append(response.status)
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(repr(error))
                conn.close()
            time.sleep(0.005)
        conn.close()

    def __enter__(self) -> KeepAliveLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def main() -> None:
    docker("network", "create", NETWORK)
    containers = [replica("a"), replica("b")]
    try:
        lb = f"lb-check-{RUN}-lb"
        containers.append(lb)
        docker(
            "run", "-d", "--name", lb, "--network", NETWORK, "--user", "nginx", "--read-only", "--tmpfs", "/tmp",
            "-v", f"{LB_DIR}:/etc/nginx/lb:ro", "-e", "LB_RESOLVE_SECONDS=1", "-p", "127.0.0.1::8989",
            NGINX_IMAGE, "/etc/nginx/lb/run.sh",
        )  # fmt: skip
        port = docker("port", lb, "8989/tcp").splitlines()[0].rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{port}"
        wait(lambda: seen(base, 10)[0] == {"a", "b"}, 30, "both replicas answer through lb")
        print("ok: requests are spread over both replicas")

        status, body = call(base, "/predict/penguins", b"{}", {"X-Request-ID": "caller-id-1"})
        assert (status, body["request_id"]) == (200, "caller-id-1"), body
        status, body = call(base, "/predict/penguins", b"{}")
        assert status == 200 and len(body["request_id"] or "") == 32, body
        print("ok: the caller's X-Request-ID reaches the replica; lb makes one when missing")

        # Each change of replicas below reloads nginx while the keep-alive clients send.
        with KeepAliveLoad(int(port)) as load:
            time.sleep(1)
            docker("kill", containers[0])
            for method in ("POST", "GET"):
                replicas, failures = seen(base, 30, method)
                assert failures == [] and replicas == {"b"}, (method, replicas, failures)
            print("ok: replica a killed: 60 requests after it, none failed")

            containers.append(replica("c"))
            wait(lambda: "c" in seen(base, 10)[0], 20, "a new replica taken in")
            print("ok: replica c, started later, is taken in")

            docker("exec", containers[-1], "touch", "/tmp/sick")
            time.sleep(3)
            replicas, failures = seen(base, 20)
            assert failures == [] and replicas == {"b"}, (replicas, failures)
            print("ok: replica c failing /health is taken out")
        assert load.failures == [] and load.answered > 100, (load.answered, load.failures[:5])
        print(f"ok: {load.answered} predictions from keep-alive clients through three reloads, none failed")

        status, body = call(base, "/predict/penguins", b"x" * (9 * 1024 * 1024))
        assert status == 413 and body["detail"][0]["type"] == "too_large", (status, body)
        docker("kill", containers[1])
        docker("kill", containers[-1])
        status, body = wait(lambda: (r := call(base, "/health"))[0] == 503 and r, 20, "503 with no replica")
        assert body["detail"][0]["type"] == "unavailable" and body["detail"][0]["loc"] == [], body
        print("ok: 413 and 503 in the platform's error shape")
        # Still running: nginx did not exit on any of it.
        assert docker("inspect", "--format", "{{.State.Running}}", lb) == "true"
    finally:
        for container in containers:
            docker("rm", "-f", container, check=False)
        docker("network", "rm", NETWORK, check=False)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as error:
        print(f"FAIL: {error}", file=sys.stderr)
        sys.exit(1)
