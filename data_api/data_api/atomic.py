"""Atomic file replacement: readers see the old file or the new one, never a partial one."""

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, fill: Callable[[Path], None]) -> None:
    """Call ``fill(tmp_path)`` to write a temp file beside ``path``, then os.replace it.

    The temp file lives in the same directory so os.replace is a same-filesystem
    rename (atomic on POSIX). On any error the temp file is removed and the old
    ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        fill(tmp)
        # Flush to disk before the rename so a crash cannot leave an empty file behind.
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)
