"""The fake's modules import each other without a circle (TYPE_CHECKING imports included): the handler
modules see the fake's state (fakeig.context), only the app and the server see the app."""

from __future__ import annotations

import ast
from pathlib import Path

import fakeig

PACKAGE = Path(fakeig.__file__).parent


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fakeig"):
            if node.module == "fakeig":
                found.update(alias.name for alias in node.names)
            else:
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("fakeig."))
    return found


def test_no_import_cycle_among_the_fakes_modules() -> None:
    graph = {p.stem: imports_of(p) - {p.stem} for p in PACKAGE.glob("*.py")}
    assert "app" in graph and "context" in graph
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, " -> ".join((*path, node))
        if node in done:
            return
        for nxt in graph.get(node, ()):
            visit(nxt, (*path, node))
        done.add(node)

    for module in graph:
        visit(module, ())


def test_only_the_entry_points_import_the_app() -> None:
    importers = sorted(stem for stem, deps in ((p.stem, imports_of(p)) for p in PACKAGE.glob("*.py")) if "app" in deps)
    assert importers == ["server", "testing"]
