"""scripts/check_history.py run as the lint step runs it, on planted files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "check_history.py"
# The words the check refuses, put together here so that this file does not itself read as
# build history to a reader (or a tool) scanning the repository.
PLANTED = {
    "session": "ses" + "sion",
    "Session": "Ses" + "sion",
    "sessions": "ses" + "sions",
    "issue": "is" + "sue",
    "helper": "hel" + "per",
    "helpers": "hel" + "pers",
    "since_fixed": "since " + "fixed",
    "since_nl_fixed": "since\n" + "fixed",
    "In_the_first_run": "In the first " + "run",
}


def check(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("README.md", "# Figures\n\nMeasured in {session} 3 on the 2-core machine.\n", 3),
        ("bench.py", "x = 1\n# Measured in {Session} 12, 2-core machine.\n", 2),
        ("tables.py", '"""Monitoring tables ({issue} 12)."""\n', 1),
        ("notes.md", "Closes {issue} #7.\n", 1),
        ("settings.py", "x = 1\n# Named as the {issue} names them.\n", 2),
        ("chaos.md", "one test failed, {since_fixed}\n", 1),
        ("chaos.md", "text\none test failed, {since_nl_fixed}; the figures are the second run's\n", 2),
        ("README.md", "text\n\n{In_the_first_run} the data_api test failed.\n", 3),
        ("compose.yaml", "services:  # {sessions} 2 to 5\n", 1),
        ("docs.md", "Six {helpers} built the platform.\n", 1),
        ("docs.md", "A {helper} wrote this table.\n", 1),
        ("module.py", "def f():\n    # a {helper}'s figure\n    return 1\n", 2),
        ("module.py", 'def f():\n    """What the\n    {helpers} measured."""\n', 3),
        (".env.example", "PORT=1  # set by a {helper}\n", 1),
    ],
)
def test_build_history_is_caught(tmp_path: Path, name: str, text: str, line: int) -> None:
    result = check(tmp_path, name, text.format(**PLANTED))
    assert result.returncode == 1, result.stdout
    assert f"{name}:{line}:" in result.stdout
    assert len(result.stdout.splitlines()) == 1, result.stdout


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("README.md", "# Figures\n\nMeasured on 2026-11-30 (commit `a5ecc05`) on the 2-core machine.\n"),
        ("conftest.py", '@pytest.fixture(scope="session")\ndef stack():\n    session = requests.Session()\n'),
        ("test_quality.py", "from monitoring_helpers import covertype_rows, ingest\n\nrows = monitoring_helpers.rows(3)\n"),
        ("test_ui.py", '# uses load_helper() and helper.UiPage\nhelper = load_helper()\nshot = "ui-helper-penguins.png"\n'),
        ("README.md", "| `tests/monitoring/monitoring_helpers.py` | see [it](tests/training_helpers.py) and `the helper` |\n"),
        ("README.md", "Code:\n\n```python\nhelper = load_helper()\n```\n"),
        ("requirements.txt", "flask-session==0.8.0\n    # via flask-session\n"),
        ("data.json", '{"issues": "none", "first run": 1}\n'),
    ],
)
def test_a_clean_file_passes(tmp_path: Path, name: str, text: str) -> None:
    result = check(tmp_path, name, text)
    assert result.returncode == 0, result.stdout
    assert "no build history in 1 files" in result.stdout
