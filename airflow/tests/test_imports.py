"""The package's import graph has no cycle, and monitoring and maintenance do not reach into training.

Read from the sources with `ast` (every import, at the top or inside a
function), so a cycle fails here before it fails some import order at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mlops_pipelines

PACKAGE = Path(mlops_pipelines.__file__).resolve().parent
NAME = "mlops_pipelines"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = [NAME, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The package's modules that `module` imports (a package's __init__ counts as the package)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from a import b` imports a, and a.b when b is a module.
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            # The closest module of the package: `a.b.c` for a.b.c.func, `a.b` for a.b when a.b is a package.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    paths = {module_name(p, root): p for p in root.rglob("*.py")}
    known = set(paths)
    return {
        module: imported(ast.parse(path.read_text(), str(path)), module, path.name == "__init__.py", known)
        for module, path in paths.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules in order, the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for target in sorted(graph.get(module, ())):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                cycle = visit(target)
                if cycle:
                    return cycle
        on_path.discard(path.pop())
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "mlops_pipelines.contracts" in graph and "mlops_pipelines.training.tasks" in graph  # the walk found the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_monitoring_and_maintenance_import_no_training_module():
    graph = import_graph()
    for module, targets in graph.items():
        if module == f"{NAME}.maintenance" or module.startswith(f"{NAME}.monitoring"):
            assert not {t for t in targets if t.startswith(f"{NAME}.training")}, module


@pytest.mark.parametrize(
    "files",
    [
        # contracts <-> tables, the shape golden_files() once had: imported inside a function.
        {
            "__init__.py": "",
            "contracts.py": "def golden():\n    from mlops_pipelines.tables import schema\n",
            "tables.py": "from mlops_pipelines.contracts import COVERTYPE\n",
        },
        # Through three modules, a relative import and a subpackage.
        {
            "__init__.py": "",
            "a.py": "from mlops_pipelines.sub import b\n",
            "sub/__init__.py": "",
            "sub/b.py": "from . import c\n",
            "sub/c.py": "import mlops_pipelines.a\n",
        },
    ],
)
def test_a_planted_cycle_is_found(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    cycle = find_cycle(import_graph(tmp_path))
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) >= 3


def test_an_acyclic_package_passes(tmp_path):
    for name, text in {"__init__.py": "", "a.py": "from mlops_pipelines import b\n", "b.py": "import json\n"}.items():
        (tmp_path / name).write_text(text)
    assert find_cycle(import_graph(tmp_path)) is None
