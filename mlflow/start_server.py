"""Start the MLflow tracking server the way this platform needs it.

1. Wait for the MySQL backend, saying *why* it cannot be reached (wrong
   password, unknown database, host down) instead of crash-looping silently.
2. Upgrade the schema (`mlflow db upgrade`), so a new MLflow version migrates an
   existing volume before serving.
3. Prepare MLflow's built-in authentication (`--app-name basic-auth`): its user
   database in MySQL (own database and user, see mysql/init), and the platform's
   users from the environment, created if missing, passwords updated if changed.
4. Register inference's alias webhook (INFERENCE_WEBHOOK_URL) in the tracking
   database: exactly one, whatever the earlier starts left, so a promotion
   reaches inference at once. It is signed with INFERENCE_WEBHOOK_SECRET, or
   without one, with this installation's, generated on the first start into
   INFERENCE_WEBHOOK_SECRET_FILE (a volume inference reads).
5. Exec `mlflow server` with artifacts proxied to MinIO, so clients need no S3
   credentials.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


# {p}: the settings' prefix (MLFLOW_DB for the tracking database, MLFLOW_AUTH_DB for the logins).
HINTS = {
    1045: "check {p}_USER / {p}_PASSWORD: they must match what the mysql service created",
    1044: "the user has no rights on this database: check {p}_NAME and the grants in mysql/init",
    1049: "the database does not exist: check {p}_NAME (created on the mysql volume's first start)",
    2003: "MySQL is not reachable: is the mysql service up and MLFLOW_DB_HOST/MLFLOW_DB_PORT right?",
    2005: "unknown MySQL host: check MLFLOW_DB_HOST",
}
# A mysql volume made before a database was added to mysql/init lacks it; the
# init script is idempotent and can be run again.
UPGRADE_HINT = (
    "; on a mysql volume older than this database, create it with "
    "`docker compose exec mysql bash /docker-entrypoint-initdb.d/01-databases.sh`"
)


def hint(code: int | None, prefix: str = "MLFLOW_DB") -> str:
    text = (HINTS.get(code) if code is not None else None) or "see the mysql service's log"
    text = text.format(p=prefix)
    return text + UPGRADE_HINT if code in (1045, 1049) else text


def wait_for_database(host: str, port: int, user: str, password: str, database: str, timeout: float, prefix: str = "MLFLOW_DB") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            pymysql.connect(host=host, port=port, user=user, password=password, database=database, connect_timeout=5).close()
            log(f"database {database!r} at {host}:{port} reachable as {user!r}")
            return
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else None
            message = f"cannot connect to MySQL database {database!r} at {host}:{port} as {user!r}: {exc} -- {hint(code, prefix)}"
            if time.monotonic() >= deadline:
                log(f"giving up after {timeout:.0f}s: {message}")
                sys.exit(1)
            log(message)
            time.sleep(3)


def mysql_uri(user: str, password: str, host: str, port: int, database: str) -> str:
    return f"mysql+pymysql://{quote_plus(user)}:{quote_plus(password)}@{host}:{port}/{database}?charset=utf8mb4"


@dataclass(frozen=True)
class User:
    """A login of MLflow's basic-auth app. The rights are MLflow's own: every login
    reads everything (default_permission READ), whoever creates an experiment or a
    registered model gets MANAGE on it (MLflow grants that itself), admins may do all."""

    username: str
    password: str
    is_admin: bool = False


def platform_users() -> list[User]:
    """The platform's logins, from the environment (compose passes them)."""
    return [
        # People: promote in the UI, manage users and grants.
        User(env("MLFLOW_ADMIN_USER", "admin"), env("MLFLOW_ADMIN_PASSWORD"), is_admin=True),
        # Airflow's tasks: create experiments and models, log runs, register versions,
        # set the first alias on the models they created.
        User(env("MLFLOW_AIRFLOW_USER", "airflow"), env("MLFLOW_AIRFLOW_PASSWORD")),
        # Inference: read only, so it can move no alias and delete nothing.
        User(env("MLFLOW_READER_USER", "reader"), env("MLFLOW_READER_PASSWORD")),
    ]


def sync_users(database_uri: str, users: list[User]) -> None:
    """Create each user if missing; set its password and admin flag if they changed.

    Through the auth app's own store (which also migrates the auth schema), so what
    is written is exactly what `mlflow server --app-name basic-auth` reads.
    """
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    allow_auth_schema_on_mysql()
    store = SqlAlchemyStore()
    store.init_db(database_uri)
    try:
        for user in users:
            if not store.has_user(user.username, use_primary=True):
                store.create_user(user.username, user.password, is_admin=user.is_admin)
                log(f"created MLflow user {user.username!r}" + (" (admin)" if user.is_admin else ""))
                continue
            changed = []
            if not store.authenticate_user(user.username, user.password, use_primary=True):
                changed.append("password")
            if store.get_user(user.username).is_admin != user.is_admin:
                changed.append("admin flag")
            if changed:
                store.update_user(user.username, password=user.password, is_admin=user.is_admin)
                log(f"updated the {' and '.join(changed)} of MLflow user {user.username!r}")
    finally:
        store.engine.dispose()


# MLflow's first auth migration names two foreign keys `fk_user_id`; MySQL and
# MariaDB want constraint names unique per database, so creating the second table
# fails (mlflow/mlflow#9642, open). No later migration refers to the name: the
# second one is created under its own name instead.
_DUPLICATE_FK = "CONSTRAINT fk_user_id FOREIGN KEY(user_id) REFERENCES users (id)"
_RENAMED_FK = "CONSTRAINT fk_registered_model_perm_user_id FOREIGN KEY(user_id) REFERENCES users (id)"


def rename_duplicate_foreign_key(statement: str) -> str:
    if statement.lstrip().startswith("CREATE TABLE registered_model_permissions") and _DUPLICATE_FK in statement:
        return statement.replace(_DUPLICATE_FK, _RENAMED_FK)
    return statement


def allow_auth_schema_on_mysql() -> None:
    """Rewrite that one CREATE TABLE on its way to the database (this process only:
    the server's workers find the schema migrated and create nothing)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before(conn, cursor, statement, parameters, context, executemany):
        return rename_duplicate_foreign_key(statement), parameters

    if not event.contains(Engine, "before_cursor_execute", before):
        event.listen(Engine, "before_cursor_execute", before, retval=True)


def write_auth_config(database_uri: str) -> str:
    """The auth app reads its settings from an ini file (MLFLOW_AUTH_CONFIG_PATH). It
    holds the auth database's password, so it is private to this process's user."""
    fd, path = tempfile.mkstemp(prefix="mlflow-auth-", suffix=".ini")
    with os.fdopen(fd, "w") as ini:
        ini.write(
            "\n".join(
                [
                    "[mlflow]",
                    # Reading is open to every login; changing needs a grant or ownership.
                    "default_permission = READ",
                    # configparser interpolates %: the URI's quoted characters are escaped.
                    f"database_uri = {database_uri.replace('%', '%%')}",
                    "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
                    # A password check costs a deliberately slow hash, and a training run makes
                    # hundreds of calls: each worker remembers a good login for a minute. The
                    # users only change at start (sync_users), when every worker is new anyway.
                    "auth_cache_ttl_seconds = 60",
                    "",
                ]
            )
        )
    return path


WEBHOOK_NAME = "inference-alias-moves"
WEBHOOK_DESCRIPTION = (
    "Inference reloads a served model as soon as one of its aliases moves, and loads new versions ahead (mlflow/start_server.py)."
)


def webhook_encryption_key(secret: str) -> str:
    """The Fernet key MLflow stores webhook secrets under, derived from the webhook secret itself.

    MLflow draws a random key per process when MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY is
    unset, and then its other workers and every later start cannot read the stored
    secret. Derived, it is the same in every worker and start, and one secret less to keep.
    """
    digest = hashlib.sha256(b"mlflow-webhook-secret-encryption:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def installation_webhook_secret(given: str, path: str) -> str:
    """The webhook secret: the one given (.env), else this installation's, generated once into `path`.

    `path` is on a volume inference mounts read-only (INFERENCE_WEBHOOK_SECRET_FILE):
    both sides sign and check with it, and no published default exists.
    """
    if given:
        return given
    try:
        with open(path) as f:
            stored = f.read().strip()
        if stored:
            return stored
    except FileNotFoundError:
        pass
    secret = secrets.token_urlsafe(32)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".webhook-")
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    os.replace(tmp, path)  # whole or not at all, for a reader starting meanwhile
    log(f"generated this installation's webhook secret into {path}")
    return secret


def sync_webhook(backend_uri: str, url: str, secret: str) -> None:
    """Leave exactly one active webhook of ours: url and secret as configured (none when url is empty).

    Through the registry's own store, as the server will read it. A stored secret the
    current key cannot decrypt (the secret changed) is not read: those rows are retired
    by name, in SQL, and the webhook is made anew.
    """
    from mlflow.entities.webhook import WebhookAction, WebhookEntity, WebhookEvent
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore
    from sqlalchemy import text

    store = SqlAlchemyStore(backend_uri)
    events = [WebhookEvent(WebhookEntity.MODEL_VERSION_ALIAS, action) for action in (WebhookAction.CREATED, WebhookAction.DELETED)]
    # A new version: inference loads it ahead, so promoting it later needs no download.
    events.append(WebhookEvent(WebhookEntity.MODEL_VERSION, WebhookAction.CREATED))
    try:
        try:
            ours, token = [], None
            while True:
                page = store.list_webhooks(max_results=100, page_token=token)
                ours += [w for w in page if w.name == WEBHOOK_NAME]
                if not page.token:
                    break
                token = page.token
        except Exception as exc:  # undecryptable secret (cryptography's InvalidToken)
            log(f"the stored webhook cannot be read ({type(exc).__name__}): retiring it and registering anew")
            with store.engine.begin() as conn:
                conn.execute(
                    text("UPDATE webhooks SET deleted_timestamp = :now WHERE name = :name AND deleted_timestamp IS NULL"),
                    {"now": int(time.time() * 1000), "name": WEBHOOK_NAME},
                )
            ours = []
        for extra in ours[1:] if url else ours:
            store.delete_webhook(extra.webhook_id)
        if not url:
            if ours:
                log("INFERENCE_WEBHOOK_URL is empty: the alias webhook is removed (inference polls only)")
            return
        if ours:
            store.update_webhook(ours[0].webhook_id, url=url, events=events, secret=secret, description=WEBHOOK_DESCRIPTION)
            log(f"alias webhook to {url} updated")
        else:
            store.create_webhook(WEBHOOK_NAME, url, events, description=WEBHOOK_DESCRIPTION, secret=secret)
            log(f"alias webhook to {url} registered")
    finally:
        store.engine.dispose()


def main() -> None:
    host = env("MLFLOW_DB_HOST", "mysql")
    port = int(env("MLFLOW_DB_PORT", "3306"))
    user = env("MLFLOW_DB_USER", "mlflow")
    password = env("MLFLOW_DB_PASSWORD")
    database = env("MLFLOW_DB_NAME", "mlflow")
    auth_user = env("MLFLOW_AUTH_DB_USER", "mlflow_auth")
    auth_password = env("MLFLOW_AUTH_DB_PASSWORD")
    auth_database = env("MLFLOW_AUTH_DB_NAME", "mlflow_auth")
    users = platform_users()
    wait_seconds = float(env("MLFLOW_DB_WAIT_SECONDS", "120"))
    wait_for_database(host, port, user, password, database, wait_seconds)
    wait_for_database(host, port, auth_user, auth_password, auth_database, wait_seconds, "MLFLOW_AUTH_DB")

    webhook_url = env("INFERENCE_WEBHOOK_URL", "")
    if webhook_url:
        secret_file = env("INFERENCE_WEBHOOK_SECRET_FILE", "")
        webhook_secret = env("INFERENCE_WEBHOOK_SECRET", "")
        if secret_file:
            webhook_secret = installation_webhook_secret(webhook_secret, secret_file)
        if not webhook_secret:
            log(
                "INFERENCE_WEBHOOK_URL is set but neither INFERENCE_WEBHOOK_SECRET nor INFERENCE_WEBHOOK_SECRET_FILE: an unsigned hook would be refused"
            )
            sys.exit(2)
        # Before anything imports MLflow's registry models, which read the key once.
        os.environ.setdefault("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", webhook_encryption_key(webhook_secret))
        # Inference is on the compose network, a private address, and speaks plain HTTP
        # there: MLflow refuses both by default (its SSRF guard). Only admins may
        # register webhooks under basic-auth, so no one else can aim the server elsewhere.
        os.environ.setdefault("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true")
        os.environ.setdefault("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https")
    else:
        webhook_secret = ""
    auth_uri = mysql_uri(auth_user, auth_password, host, port, auth_database)
    log(f"MLflow logins in database {auth_database!r}: " + ", ".join(u.username for u in users))
    sync_users(auth_uri, users)
    os.environ["MLFLOW_AUTH_CONFIG_PATH"] = write_auth_config(auth_uri)
    # Signs the auth app's CSRF tokens; all workers inherit it. Unset, a random one
    # per start (a restart only expires open forms): never a published default.
    if not os.environ.get("MLFLOW_FLASK_SERVER_SECRET_KEY"):
        os.environ["MLFLOW_FLASK_SERVER_SECRET_KEY"] = secrets.token_urlsafe(32)
    # The admin exists now; MLflow's own bootstrap check wants to see its name.
    os.environ["MLFLOW_AUTH_ADMIN_USERNAME"] = users[0].username
    os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"] = users[0].password

    backend_uri = mysql_uri(user, password, host, port, database)
    log("upgrading the MLflow schema (mlflow db upgrade)")
    if subprocess.run(["mlflow", "db", "upgrade", backend_uri]).returncode != 0:
        log("mlflow db upgrade failed; see above")
        sys.exit(1)

    try:
        sync_webhook(backend_uri, webhook_url, webhook_secret)
    except Exception as exc:  # the registry serves without it; inference still polls
        log(f"could not register the alias webhook ({exc}); inference follows promotions by polling only")

    bucket = env("MLFLOW_ARTIFACTS_BUCKET", "mlflow")
    args = [
        "mlflow",
        "server",
        "--host",
        "0.0.0.0",
        "--port",
        env("MLFLOW_PORT", "5000"),
        "--workers",
        env("MLFLOW_WORKERS", "2"),
        # Every call but /health needs a login (the users above).
        "--app-name",
        "basic-auth",
        "--backend-store-uri",
        backend_uri,
        # Proxied artifact access: runs record mlflow-artifacts:/ URIs and the
        # server alone talks to MinIO.
        "--serve-artifacts",
        "--artifacts-destination",
        f"s3://{bucket}/",
        # Containers call http://mlflow:5000, people http://localhost:5000.
        "--allowed-hosts",
        env("MLFLOW_ALLOWED_HOSTS", "mlflow,mlflow:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*"),
    ]
    log("starting " + " ".join(a if "://" not in a else a.split("://")[0] + "://..." for a in args))
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
