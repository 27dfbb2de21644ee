"""Start the MLflow tracking server the way this platform needs it.

1. Wait for the MySQL backend, saying *why* it cannot be reached (wrong
   password, unknown database, host down) instead of crash-looping silently.
2. Upgrade the schema (`mlflow db upgrade`), so a new MLflow version migrates an
   existing volume before serving.
3. Exec `mlflow server` with artifacts proxied to MinIO, so clients need no S3
   credentials.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import quote_plus

import pymysql


def log(message: str) -> None:
    print(f"mlflow-start: {message}", file=sys.stderr, flush=True)


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        log(f"missing required setting {name}")
        sys.exit(2)
    return value


HINTS = {
    1045: "check MLFLOW_DB_USER / MLFLOW_DB_PASSWORD: they must match what the mysql service created",
    1044: "the user has no rights on this database: check MLFLOW_DB_NAME and the grants in mysql/init",
    1049: "the database does not exist: check MLFLOW_DB_NAME (created on the mysql volume's first start)",
    2003: "MySQL is not reachable: is the mysql service up and MLFLOW_DB_HOST/MLFLOW_DB_PORT right?",
    2005: "unknown MySQL host: check MLFLOW_DB_HOST",
}


def wait_for_database(host: str, port: int, user: str, password: str, database: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            pymysql.connect(host=host, port=port, user=user, password=password, database=database, connect_timeout=5).close()
            log(f"database {database!r} at {host}:{port} reachable as {user!r}")
            return
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else None
            hint = HINTS.get(code, "see the mysql service's log") if isinstance(code, int) else "see the mysql service's log"
            message = f"cannot connect to MySQL database {database!r} at {host}:{port} as {user!r}: {exc} -- {hint}"
            if time.monotonic() >= deadline:
                log(f"giving up after {timeout:.0f}s: {message}")
                sys.exit(1)
            log(message)
            time.sleep(3)


def main() -> None:
    host = env("MLFLOW_DB_HOST", "mysql")
    port = int(env("MLFLOW_DB_PORT", "3306"))
    user = env("MLFLOW_DB_USER", "mlflow")
    password = env("MLFLOW_DB_PASSWORD")
    database = env("MLFLOW_DB_NAME", "mlflow")
    wait_for_database(host, port, user, password, database, float(env("MLFLOW_DB_WAIT_SECONDS", "120")))

    backend_uri = f"mysql+pymysql://{quote_plus(user)}:{quote_plus(password)}@{host}:{port}/{database}?charset=utf8mb4"
    log("upgrading the MLflow schema (mlflow db upgrade)")
    if subprocess.run(["mlflow", "db", "upgrade", backend_uri]).returncode != 0:
        log("mlflow db upgrade failed; see above")
        sys.exit(1)

    bucket = env("MLFLOW_ARTIFACTS_BUCKET", "mlflow")
    args = [
        "mlflow", "server",
        "--host", "0.0.0.0",
        "--port", env("MLFLOW_PORT", "5000"),
        "--workers", env("MLFLOW_WORKERS", "2"),
        "--backend-store-uri", backend_uri,
        # Proxied artifact access: runs record mlflow-artifacts:/ URIs and the
        # server alone talks to MinIO.
        "--serve-artifacts",
        "--artifacts-destination", f"s3://{bucket}/",
        # Containers call http://mlflow:5000, people http://localhost:5000.
        "--allowed-hosts", env("MLFLOW_ALLOWED_HOSTS", "mlflow,mlflow:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*"),
    ]
    log("starting " + " ".join(a if "://" not in a else a.split("://")[0] + "://..." for a in args))
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
