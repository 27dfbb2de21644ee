"""scripts/check_docs.py run as the lint step runs it, on planted repositories."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "check_docs.py"


def plant(root: Path, readme: str, docs: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (root / "docs").mkdir()
    (root / "README.md").write_text(readme, encoding="utf-8")
    for name, text in (docs or {}).items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True, timeout=60)


def test_a_short_readme_with_working_links_passes(tmp_path: Path) -> None:
    readme = "# Platform\n\nSee [security](docs/security.md#who-can-do-what) and [figures](docs/measured.md).\n"
    docs = {
        "security.md": "# Security\n\n## Who can do what\n\nBack to the [README](../README.md#platform).\n",
        "measured.md": "# Measured\n\n```bash\n[not a link](nowhere.md)\n```\n[web](https://example.org/x.md)\n",
    }
    result = plant(tmp_path, readme, docs)
    assert result.returncode == 0, result.stdout


def test_a_readme_over_200_lines_fails(tmp_path: Path) -> None:
    result = plant(tmp_path, "# Platform\n" + "a line\n" * 200)
    assert result.returncode == 1
    assert "README.md: 201 lines, at most 200" in result.stdout


def test_a_link_to_a_missing_file_or_heading_fails(tmp_path: Path) -> None:
    readme = "# Platform\n\n[gone](docs/backup.md) and [moved](docs/security.md#secrets)\n"
    docs = {"security.md": "# Security\n\n[up](../README.md#quick-start)\n"}
    result = plant(tmp_path, readme, docs)
    assert result.returncode == 1
    assert "README.md:3: link to a missing file: docs/backup.md" in result.stdout
    assert "README.md:3: link to a missing heading: docs/security.md#secrets" in result.stdout
    assert "docs/security.md:3: link to a missing heading: ../README.md#quick-start" in result.stdout
