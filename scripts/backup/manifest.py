"""The backup archive's manifest: written by backup.sh, checked by restore.sh.

Standard library only (it runs on the host). Row counts are read from the dumps
themselves (one INSERT line per row in the MySQL dumps, one COPY line per row in
PostgreSQL's), so they are exactly what a restore must give back, however much the
running platform wrote while the backup ran.

    manifest.py dump-rows mysql|postgres DUMP      table -> rows of one dump, as JSON
    manifest.py write STAGE FACTS_JSON             STAGE/manifest.json: FACTS + rows, objects, sha256 of every file
    manifest.py verify-files STAGE                 every file present with its sha256, nothing extra
    manifest.py count-sql mysql|postgres DB STAGE  one query counting the rows of the manifest's tables of DB
    manifest.py compare-rows mysql|postgres DB STAGE < "table<TAB>rows" lines
    manifest.py compare-objects STAGE < JSON {bucket: {key: {bytes, sha256}}}
    manifest.py get STAGE KEY...                   a value of the manifest (lists one per line)
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

MANIFEST = "manifest.json"
MYSQL_INSERT = re.compile(r"^INSERT INTO `((?:[^`]|``)+)` VALUES ")
MYSQL_CREATE = re.compile(r"^CREATE TABLE `((?:[^`]|``)+)` \(")
PG_COPY = re.compile(r"^COPY (\S+) \(.*\) FROM stdin;$")


def dump_rows(kind: str, dump: Path) -> dict[str, int]:
    rows: dict[str, int] = {}
    with dump.open(encoding="utf-8", errors="surrogateescape") as lines:
        if kind == "mysql":
            # mysqldump --skip-extended-insert: one INSERT per row, newlines in values escaped.
            for line in lines:
                if match := MYSQL_CREATE.match(line):
                    rows.setdefault(match[1].replace("``", "`"), 0)
                elif match := MYSQL_INSERT.match(line):
                    table = match[1].replace("``", "`")
                    rows[table] = rows.get(table, 0) + 1
        else:
            # pg_dump's plain format: one line per row between "COPY ... FROM stdin;" and "\.".
            table = None
            for line in lines:
                if table is None:
                    if match := PG_COPY.match(line.rstrip("\n")):
                        table = match[1]
                        rows[table] = 0
                elif line == "\\.\n":
                    table = None
                else:
                    rows[table] += 1
    return rows


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def files(stage: Path) -> dict[str, dict]:
    return {
        str(p.relative_to(stage)): {"bytes": p.stat().st_size, "sha256": sha256(p)}
        for p in sorted(stage.rglob("*"))
        if p.is_file() and p.relative_to(stage).as_posix() != MANIFEST
    }


def load(stage: Path) -> dict:
    return json.loads((stage / MANIFEST).read_text())


def write(stage: Path, facts_path: Path) -> int:
    manifest = json.loads(facts_path.read_text())
    for kind in ("mysql", "postgres"):
        manifest[kind]["rows"] = {dump.stem: dump_rows(kind, dump) for dump in sorted((stage / kind).glob("*.sql"))}
    buckets = json.loads((stage / "buckets.json").read_text())
    manifest["objects"] = {
        "count": sum(b["objects"] for b in buckets.values()),
        "bytes": sum(b["bytes"] for b in buckets.values()),
        "buckets": buckets,
    }
    manifest["files"] = files(stage)
    (stage / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    total = sum(sum(t.values()) for kind in ("mysql", "postgres") for t in manifest[kind]["rows"].values())
    print(
        f"backup: {total} rows in {sum(len(t) for k in ('mysql', 'postgres') for t in manifest[k]['rows'].values())} tables, "
        f"{manifest['objects']['count']} objects ({manifest['objects']['bytes']} bytes), {len(manifest['files'])} files",
        file=sys.stderr,
    )
    return 0


def verify_files(stage: Path) -> int:
    expected = load(stage)["files"]
    actual = files(stage)
    bad = sorted(
        [f"missing: {name}" for name in expected.keys() - actual.keys()]
        + [f"not in the manifest: {name}" for name in actual.keys() - expected.keys()]
        + [f"checksum differs: {name}" for name in expected.keys() & actual.keys() if expected[name] != actual[name]]
    )
    for line in bad:
        print(f"restore: {line}", file=sys.stderr)
    print(f"restore: {len(actual)} files of the archive checked against the manifest", file=sys.stderr)
    return 1 if bad else 0


def count_sql(kind: str, db: str, stage: Path) -> int:
    tables = sorted(load(stage)[kind]["rows"][db])
    if kind == "mysql":
        quoted = [f"`{db.replace('`', '``')}`.`{t.replace('`', '``')}`" for t in tables]
        literal = [t.replace("\\", "\\\\").replace("'", "\\'") for t in tables]
    else:
        quoted = tables  # as pg_dump wrote them: schema-qualified, quoted where needed
        literal = [t.replace("'", "''") for t in tables]
    if not tables:
        print("SELECT 'none', 0 FROM (SELECT 1) AS empty WHERE 1 = 0;")
        return 0
    print(" UNION ALL ".join(f"SELECT '{lit}', COUNT(*) FROM {q}" for lit, q in zip(literal, quoted, strict=True)) + ";")
    return 0


def compare_rows(kind: str, db: str, stage: Path) -> int:
    expected = load(stage)[kind]["rows"][db]
    actual = {}
    for line in sys.stdin:
        if line.strip():
            table, rows = line.rstrip("\n").rsplit("\t", 1)
            actual[table] = int(rows)
    bad = [f"{kind} {db}.{t}: {actual.get(t)} rows, the backup had {n}" for t, n in sorted(expected.items()) if actual.get(t) != n]
    for line in bad:
        print(f"restore: MISMATCH {line}", file=sys.stderr)
    print(
        f"restore: {kind} {db}: {sum(actual.values())} rows in {len(actual)} tables (backup: {sum(expected.values())} in {len(expected)})",
        file=sys.stderr,
    )
    return 1 if bad else 0


def compare_objects(stage: Path) -> int:
    manifest = load(stage)
    actual = json.load(sys.stdin)
    bad = []
    for bucket, listing in manifest["objects"]["buckets"].items():
        restored = actual.get(bucket, {})
        if len(restored) != listing["objects"] or sum(o["bytes"] for o in restored.values()) != listing["bytes"]:
            bad.append(f"bucket {bucket}: {len(restored)} objects, the backup had {listing['objects']}")
        for key, obj in restored.items():
            archived = manifest["files"].get(f"objects/{bucket}/{key}")
            if archived is None or archived != obj:
                bad.append(f"{bucket}/{key}: differs from the archive")
    for line in bad:
        print(f"restore: MISMATCH {line}", file=sys.stderr)
    count = sum(len(v) for v in actual.values())
    print(f"restore: {count} objects in the store, read back and hashed (backup: {manifest['objects']['count']})", file=sys.stderr)
    return 1 if bad else 0


def get(stage: Path, *path: str) -> int:
    value = load(stage)
    for key in path:
        value = value[key]
    for item in value if isinstance(value, list | dict) else [value]:
        print(item)
    return 0


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "dump-rows":
        print(json.dumps(dump_rows(args[0], Path(args[1])), indent=2))
        return 0
    if command == "write":
        return write(Path(args[0]), Path(args[1]))
    if command == "verify-files":
        return verify_files(Path(args[0]))
    if command == "count-sql":
        return count_sql(args[0], args[1], Path(args[2]))
    if command == "compare-rows":
        return compare_rows(args[0], args[1], Path(args[2]))
    if command == "compare-objects":
        return compare_objects(Path(args[0]))
    if command == "get":
        return get(Path(args[0]), *args[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
