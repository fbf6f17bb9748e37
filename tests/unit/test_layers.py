"""The package's layers, read from the source with ``ast`` (every import counts, also
those inside functions and under ``TYPE_CHECKING``):

* ``labkit.transport`` (running commands on lab hosts) sits below both ``lab`` and
  ``probes`` and imports neither;
* ``probes`` never imports ``lab`` and ``lab`` never imports ``probes``;
* ``widgets`` never import the CLI;
* only ``labkit/lab/engine.py`` imports the docker SDK (the one Docker boundary).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "labkit"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as absolute dotted names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


GRAPH = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _edges(source: str, target: str) -> list[str]:
    def within(name: str, package: str) -> bool:
        return name == package or name.startswith(package + ".")

    return sorted(
        f"{module} -> {imported}"
        for module, imports in GRAPH.items()
        if within(module, source)
        for imported in imports
        if within(imported, target)
    )


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("labkit.probes", "labkit.lab"),
        ("labkit.lab", "labkit.probes"),
        ("labkit.widgets", "labkit.cli"),
        ("labkit.transport", "labkit.lab"),
        ("labkit.transport", "labkit.probes"),
        ("labkit.target", "labkit.lab"),
        ("labkit.target", "labkit.probes"),
    ],
)
def test_no_import_edge(source: str, target: str) -> None:
    assert _edges(source, target) == []


def test_only_the_engine_imports_the_docker_sdk() -> None:
    users = {m for m, imports in GRAPH.items() if any(i.split(".")[0] == "docker" for i in imports)}
    assert users == {"labkit.lab.engine"}


def test_the_graph_is_read() -> None:
    # The checks above would pass on an empty graph; make sure they can fail.
    assert "labkit.probes.tcp" in GRAPH["labkit.probes"] | GRAPH["labkit.probes.server"] or (
        "labkit.probes.tcp" in {i for imports in GRAPH.values() for i in imports}
    )
    assert _edges("labkit.doctor", "labkit.probes"), "doctor uses probes: an edge must be seen"
    assert "labkit.lab.engine" in GRAPH
