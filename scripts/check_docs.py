#!/usr/bin/env python3
"""Fails when README.md outgrows a first read or a link in the docs leads nowhere.

README.md is what a newcomer reads first: what the platform is, how to start and
test it, where everything is. The reference lives in docs/, one file per topic, so
the README stays at most MAX_README_LINES lines. Every relative Markdown link in
README.md and docs/*.md must name a file or folder that exists, and an anchor
(`file.md#heading`) a heading of that Markdown file, as GitHub spells it.
External links (http:, mailto:) are not fetched.

Usage: check_docs.py [ROOT]; ROOT defaults to the repository. Prints one line per
finding and exits 1 if there is any.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MAX_README_LINES = 200

# [text](target) and ![alt](target); the target ends at whitespace or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def outside_fences(text: str) -> list[tuple[int, str]]:
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, line in outside_fences(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def check_links(root: Path, path: Path) -> list[str]:
    problems = []
    for number, line in outside_fences(path.read_text(encoding="utf-8")):
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if SCHEME.match(target) or target.startswith("//"):
                continue
            name, _, anchor = target.partition("#")
            file = (path.parent / name).resolve() if name else path
            where = f"{path.relative_to(root)}:{number}"
            if not file.exists():
                problems.append(f"{where}: link to a missing file: {target}")
            elif anchor and file.suffix == ".md" and anchor.lower() not in anchors(file):
                problems.append(f"{where}: link to a missing heading: {target}")
    return problems


def check(root: Path) -> list[str]:
    problems = []
    readme = root / "README.md"
    lines = len(readme.read_text(encoding="utf-8").splitlines())
    if lines > MAX_README_LINES:
        problems.append(f"README.md: {lines} lines, at most {MAX_README_LINES}: move reference text to docs/ (figures to docs/measured.md)")
    for path in [readme, *sorted((root / "docs").glob("*.md"))]:
        problems.extend(check_links(root, path))
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[1]).resolve() if len(argv) > 1 else Path(__file__).resolve().parent.parent
    problems = check(root)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
