"""The package's import graph (issue 20): layers import only downwards, no module imports
another's private names, and no two modules import each other, even lazily."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "mhep_model"
LAYERS = ["errors", "metrics", "engine", "scenario", "studies", "report", "api", "cli"]
"""Lowest first: ``engine`` is pure numpy and imports nothing but itself and ``errors``;
``scenario`` compiles files to the engine's arrays."""


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    private = []
    for mod, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mhep_model"):
                assert node.module is not None
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    graph[mod].add(target if target in modules else node.module)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append((mod, node.module, alias.name))
            elif isinstance(node, ast.Import):
                graph[mod] |= {a.name for a in node.names if a.name.startswith("mhep_model")}
    return graph, private


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else -1


def test_no_private_names_cross_modules() -> None:
    assert _graph()[1] == []


def test_layers_import_only_downwards() -> None:
    graph, _ = _graph()
    upward = [
        (m, d)
        for m, deps in graph.items()
        for d in deps
        if _layer(m) >= 0 and _layer(d) > _layer(m) and d != "mhep_model"
    ]
    assert upward == []
    engine = {d for m, deps in graph.items() if _layer(m) == LAYERS.index("engine") for d in deps}
    assert {d.split(".")[1] for d in engine} <= {"engine", "errors"}


def test_no_import_cycles() -> None:
    graph, _ = _graph()
    seen: dict[str, int] = {}  # 1 on the path, 2 done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt == "mhep_model" or nxt not in graph:
                continue
            if seen.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in seen:
                visit(nxt, [*path, nxt])
        seen[node] = 2

    for start in sorted(graph):
        if start not in seen:
            visit(start, [start])
    assert cycles == []


def test_no_portfolio_twins() -> None:
    """A contract is a portfolio of one (issue 20): no module repeats another for
    portfolios. The portfolio file format (``scenario/portfolio``) and the one engine path
    (``engine/portfolio``) are what every run goes through, not twins."""
    twins = [
        _module(p)
        for p in PACKAGE.rglob("*.py")
        if "portfolio" in p.stem
        and _module(p)
        not in {
            "mhep_model.scenario.portfolio",
            "mhep_model.engine.portfolio",
        }
    ]
    assert twins == []
