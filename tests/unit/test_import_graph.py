"""The import graph, read from the source (ast): packages import in one direction only.

Layers, lowest first: retrieval <- memory <- agent <- service <- evaluation <- api. A package
imports only from its own layer and the ones below; benchmarks/ may import anything but api/,
and api/ loads benchmarks/ only inside a function (``reason bench``, api/cli/bench.py).
Every import counts, also one inside a function or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("retrieval", "memory", "agent", "service", "evaluation", "api")
PACKAGES = (*LAYERS, "benchmarks")
#: Packages whose modules must not import each other in a cycle.
ACYCLIC_INSIDE = ("memory",)


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to a module of the project."""

    source: str
    target: str
    line: int
    top_level: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        here = module.split(".") if is_package else module.split(".")[:-1]
        anchor = here[: len(here) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    for alias in node.names:
        # ``from memory import rows`` imports the module memory.rows, not memory/__init__.
        yield f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base


def imports_of(path: Path) -> Iterator[Import]:
    module = module_name(path)
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    top = {id(node) for node in tree.body}
    top |= {
        id(n) for node in tree.body if isinstance(node, ast.If | ast.Try) for n in ast.walk(node)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        for target in _targets(node, module, path.name == "__init__.py"):
            if target.split(".")[0] in PACKAGES:
                yield Import(module, target, node.lineno, id(node) in top)


def all_imports() -> list[Import]:
    return [imp for pkg in PACKAGES for path in sorted((ROOT / pkg).rglob("*.py"))
            for imp in imports_of(path)]  # fmt: skip


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


IMPORTS = all_imports()
# The one benchmark that imports a way in, and only inside its functions: it times
# ``reason batch``'s own engine (in process and on Ray) against itself, start-up apart, which a
# subprocess could not. Its edge is left out of the package graph below.
MEASURES_A_WAY_IN = {"benchmarks.ray_batch"}


def exempt(imp: Import) -> bool:
    return imp.source in MEASURES_A_WAY_IN and imp.target.startswith("api") and not imp.top_level


def allowed(source: str, target: str, top_level: bool) -> bool:
    if source == target:
        return True
    if source == "benchmarks":
        return target != "api"
    if target == "benchmarks":
        return source == "api" and not top_level
    return LAYERS.index(target) < LAYERS.index(source)


def test_the_reader_finds_imports() -> None:
    assert any(i.source == "api.cli.main" and i.target == "service.settings" for i in IMPORTS)
    assert any(i.source == "memory.interface" and i.target == "memory.rows" for i in IMPORTS)


def test_packages_import_only_from_lower_layers() -> None:
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in IMPORTS
        if not allowed(i.source.split(".")[0], i.target.split(".")[0], i.top_level)
        and not exempt(i)
    ]
    assert wrong == []


def test_the_package_graph_has_no_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for i in IMPORTS:
        source, target = i.source.split(".")[0], i.target.split(".")[0]
        if source != target and not exempt(i):
            edges.setdefault(source, set()).add(target)
    assert find_cycle(edges) is None


@pytest.mark.parametrize("package", ACYCLIC_INSIDE)
def test_modules_inside_a_package_import_each_other_without_a_cycle(package: str) -> None:
    edges: dict[str, set[str]] = {}
    for i in IMPORTS:
        if i.source.split(".")[0] == package == i.target.split(".")[0]:
            edges.setdefault(i.source, set()).add(i.target)
    assert find_cycle(edges) is None


def test_a_cycle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None
