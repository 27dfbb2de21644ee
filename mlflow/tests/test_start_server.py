import socket

import pytest

import start_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_database_is_reported_with_a_hint_then_exits(capsys):
    port = free_port()  # nothing listens there
    with pytest.raises(SystemExit) as exited:
        start_server.wait_for_database("127.0.0.1", port, "mlflow", "pw", "mlflow", timeout=0)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert f"cannot connect to MySQL database 'mlflow' at 127.0.0.1:{port} as 'mlflow'" in err
    assert "MySQL is not reachable" in err
    assert "giving up" in err


def test_every_hint_names_what_to_check():
    assert "MLFLOW_DB_PASSWORD" in start_server.hint(1045)
    assert "MLFLOW_DB_NAME" in start_server.hint(1049)
    # The logins' database has its own settings, and an older volume lacks it.
    assert "MLFLOW_AUTH_DB_PASSWORD" in start_server.hint(1045, "MLFLOW_AUTH_DB")
    assert "docker compose exec mysql bash /docker-entrypoint-initdb.d/01-databases.sh" in start_server.hint(1049, "MLFLOW_AUTH_DB")


@pytest.mark.parametrize(
    "missing", ["MLFLOW_ADMIN_PASSWORD", "MLFLOW_AIRFLOW_PASSWORD", "MLFLOW_READER_PASSWORD", "MLFLOW_AUTH_DB_PASSWORD"]
)
def test_a_missing_login_password_is_a_configuration_error(monkeypatch, capsys, missing):
    for name in (
        "MLFLOW_DB_PASSWORD",
        "MLFLOW_ADMIN_PASSWORD",
        "MLFLOW_AIRFLOW_PASSWORD",
        "MLFLOW_READER_PASSWORD",
        "MLFLOW_AUTH_DB_PASSWORD",
    ):
        monkeypatch.setenv(name, "some-long-password")
    monkeypatch.delenv(missing)
    with pytest.raises(SystemExit) as exited:
        start_server.main()
    assert exited.value.code == 2
    assert missing in capsys.readouterr().err


def test_missing_password_is_a_configuration_error(monkeypatch, capsys):
    monkeypatch.delenv("MLFLOW_DB_PASSWORD", raising=False)
    with pytest.raises(SystemExit) as exited:
        start_server.main()
    assert exited.value.code == 2
    assert "MLFLOW_DB_PASSWORD" in capsys.readouterr().err
