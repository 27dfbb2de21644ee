"""Telling an infrastructure failure (MLflow, its MySQL or its artifact store, the network) from a model's.

A candidate whose fit fails on the data fails the same way on every try: it is
recorded as a failed candidate and the grid goes on. A failure of the services
around it says nothing about the candidate: its task must fail, so Airflow
retries it, and the grid is never silently smaller.
"""

from __future__ import annotations

from collections.abc import Iterator

# Values of the training.error_kind tag (mlflow_names.TAG_ERROR_KIND).
INFRASTRUCTURE = "infrastructure"  # the services failed: the task retries
MODEL = "model"  # the candidate failed on the data: final

# MLflow error codes a server or its stores answer with when they, not the request, are at fault.
_MLFLOW_TRANSIENT_CODES = frozenset(
    {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "DEADLINE_EXCEEDED", "ABORTED", "UNAVAILABLE"}
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every cause or context it was raised from (once each)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_infrastructure(exc: BaseException) -> bool:
    import requests
    import sqlalchemy.exc
    from mlflow.exceptions import MlflowException

    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout | requests.exceptions.RetryError):
        return True
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError | sqlalchemy.exc.TimeoutError):
        return True
    if isinstance(exc, ConnectionError | TimeoutError):  # the builtins: refused, reset, timed out
        return True
    # Airflow reaches the artifact store only through the MLflow server (proxied
    # artifacts): a MinIO (botocore) failure arrives as the server's 5xx.
    if isinstance(exc, MlflowException):
        if exc.error_code in _MLFLOW_TRANSIENT_CODES or exc.get_http_status_code() >= 500:
            return True
        # The client's own wording once its retries are spent (the cause is not always chained).
        message = str(exc)
        if "Max retries exceeded" in message or "failed with exception" in message:
            return True
    return False


def is_infrastructure_error(exc: BaseException) -> bool:
    """True when exc, or anything it was raised from, is a failure of the services rather than the model."""
    return any(_is_infrastructure(e) for e in _chain(exc))


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:4000]
