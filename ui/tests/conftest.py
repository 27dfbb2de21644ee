from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from tests.fake_inference import FakeInference, serve

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")


@pytest.fixture
def fake():
    """A real local HTTP server standing in for inference."""
    fake = FakeInference()
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def start_app(monkeypatch):
    """Run the app against an inference URL, as `streamlit run` would (settings from the environment)."""

    def start(url: str) -> AppTest:
        monkeypatch.setenv("UI_INFERENCE_URL", url)
        monkeypatch.setenv("UI_AIRFLOW_URL", "http://airflow.test:8080")
        monkeypatch.setenv("UI_MLFLOW_URL", "http://mlflow.test:5000")
        return AppTest.from_file(APP, default_timeout=30).run()

    return start


@pytest.fixture
def downloads(monkeypatch):
    """The bytes behind each st.download_button, by its URL (AppTest drops its media store after a run)."""
    stores: list[MemoryMediaFileStorage] = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Recording)

    def content(url: str) -> bytes:
        filename = url.rsplit("/", 1)[-1]
        for store in reversed(stores):
            try:
                return store.get_file(filename).content
            except Exception:
                continue
        raise AssertionError(f"no download at {url}")

    return content


@pytest.fixture
def monitoring_db():
    """A fresh database holding the monitoring tables on the real MySQL of
    TEST_MYSQL_URL, and a user that may only SELECT from them (as MONITOR_DB_USER).
    Yields (writer engine as root, the select-only user's URL)."""
    import os
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from tests.monitoring_tables import DDL, TABLES

    url = os.environ.get("TEST_MYSQL_URL")
    if not url:
        pytest.skip("TEST_MYSQL_URL is not set (scripts/test.sh sets it)")
    admin = create_engine(url)
    suffix = uuid.uuid4().hex[:10]
    name, user, password = f"test_monitor_{suffix}", f"mon_{suffix}", f"pw-{suffix}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    writer = create_engine(make_url(url).set(database=name, query={"charset": "utf8mb4"}))
    with writer.begin() as conn:
        for statement in DDL:
            conn.execute(text(statement))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
        for table in TABLES:
            conn.execute(text(f"GRANT SELECT ON `{name}`.`{table}` TO '{user}'@'%'"))
    reader_url = make_url(url).set(username=user, password=password, database=name, query={"charset": "utf8mb4"})
    try:
        yield writer, reader_url.render_as_string(hide_password=False)
    finally:
        writer.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP USER '{user}'@'%'"))
            conn.execute(text(f"DROP DATABASE `{name}`"))
        admin.dispose()
