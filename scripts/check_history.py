#!/usr/bin/env python3
"""Fails when a tracked file speaks of how the platform was built instead of what it does.

The repository describes the product: a figure names its date, commit, command and
machine, not the working session that measured it. Rules, case-insensitive:

- anywhere in a text file: "session" or "sessions" followed by a number, "issue" or
  "issues" followed by a number (with or without "#"), "the issue", "since fixed",
  "in the first run" (a phrase may break over two lines);
- in prose only: the word "helper" or "helpers". Prose is Markdown outside code spans
  and fenced blocks, Python comments and docstrings, and the comments of other text
  files (from a "#" at the start of a line or after a space). The word must stand
  alone: identifiers and paths (`monitoring_helpers`, `helper.UiPage`,
  `ui-helper.png`) pass, and code and string literals are not prose. The people
  sense ("six helpers", "a helper wrote") cannot be told from the code sense by the
  words around it, so prose uses neither.

Usage: check_history.py [PATH...]; without paths, every file `git ls-files` lists.
Prints path:line: text for each finding and exits 1 if there is any.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The rule's own statement and its planted examples.
EXCLUDED = frozenset({"scripts/check_history.py", "scripts/tests/test_check_history.py"})
# Not text, or data: never read.
BINARY_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".ico", ".gz", ".zip", ".tar", ".csv", ".parquet", ".pkl", ".joblib"})

ANYWHERE = re.compile(
    r"\bsessions?\s+#?\d"
    r"|\bissues?\s*#?\d"
    r"|\bthe\s+issue\b"
    r"|\bsince\s+fixed\b"
    r"|\bin\s+the\s+first\s+run\b",
    re.IGNORECASE,
)
# "helper" standing alone: not part of an identifier, a dotted name or a path.
HELPER = re.compile(r"(?<![\w./\\-])helpers?(?![\w/\\-]|\.\w)", re.IGNORECASE)
# The comment of a shell, YAML, TOML, Dockerfile or env line.
HASH_COMMENT = re.compile(r"(?:^|\s)#(.*)$")
INLINE_CODE = re.compile(r"`+[^`]*`+")
FENCE = re.compile(r"^\s*(```|~~~)")


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def markdown_prose(lines: list[str]) -> dict[int, str]:
    prose: dict[int, str] = {}
    fenced = False
    for number, line in enumerate(lines, 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            prose[number] = INLINE_CODE.sub(" ", line)
    return prose


def python_prose(text: str, lines: list[str]) -> dict[int, str]:
    """Comments and docstrings, by line. A file that does not parse is read as comments only."""
    prose: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                prose[token.start[0]] = prose.get(token.start[0], "") + " " + token.string
    except (tokenize.TokenError, SyntaxError):
        return hash_prose(lines)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return prose
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                for number in range(first.lineno, (first.end_lineno or first.lineno) + 1):
                    prose[number] = prose.get(number, "") + " " + lines[number - 1]
    return prose


def hash_prose(lines: list[str]) -> dict[int, str]:
    prose: dict[int, str] = {}
    for number, line in enumerate(lines, 1):
        match = HASH_COMMENT.search(line)
        if match:
            prose[number] = match.group(1)
    return prose


def findings(path: Path, name: str) -> list[str]:
    if path.suffix.lower() in BINARY_SUFFIXES:
        return []
    raw = path.read_bytes()
    if b"\0" in raw:
        return []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return []
    lines = text.splitlines()
    # On the whole text, so a phrase broken over two lines is found (at its first line).
    found: dict[int, str] = {}
    for match in ANYWHERE.finditer(text):
        number = text.count("\n", 0, match.start()) + 1
        found[number] = lines[number - 1]
    if path.suffix.lower() == ".md":
        prose = markdown_prose(lines)
    elif path.suffix.lower() == ".py":
        prose = python_prose(text, lines)
    else:
        prose = hash_prose(lines)
    found.update((number, lines[number - 1]) for number, words in prose.items() if HELPER.search(words))
    return [f"{name}:{number}: {found[number].strip()}" for number in sorted(found)]


def main(argv: list[str]) -> int:
    if argv:
        targets = [(Path(arg), arg) for arg in argv]
    else:
        targets = [(ROOT / name, name) for name in tracked_files() if name not in EXCLUDED and (ROOT / name).is_file()]
    problems = [problem for path, name in targets for problem in findings(path, name)]
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"{len(problems)} line(s) speak of how the platform was built (scripts/check_history.py): "
            "say what the product does and why; a figure names its date, commit, command and machine.",
            file=sys.stderr,
        )
        return 1
    print(f"no build history in {len(targets)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
