"""The layer rules, checked on the source itself: every `import gongji…` anywhere in a
module (top level, inside functions, under TYPE_CHECKING) counts.

- domain imports nothing of store, services, api, web, app, cli (it is pure);
- store imports nothing of services, api, web, app, cli;
- services import nothing of api, web, app, cli;
- api and web import nothing of app, cli; api imports nothing of web;
- no import cycle between modules, and none between the service packages.

The same checker is run on a planted violation, so a rule that can no longer fail is
noticed.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# layer -> layers it must never import
FORBIDDEN = {
    "domain": {"store", "services", "api", "web", "app", "cli"},
    "store": {"services", "api", "web", "app", "cli"},
    "services": {"api", "web", "app", "cli"},
    "api": {"web", "app", "cli"},
    "web": {"app", "cli"},
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str, package: bool) -> set[str]:
    """Every gongji module `path` imports, resolved to the longest known name later."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("gongji")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = name.split(".") if package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("gongji"):
                found.add(base)
                found |= {f"{base}.{a.name}" for a in node.names}
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in (root / "gongji").rglob("*.py")
             if "migrations" not in p.parts}
    graph = {}
    for name, path in files.items():
        targets = imports_of(path, name, path.name == "__init__.py")
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "gongji"


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{src} -> {dst}" for src, targets in graph.items() for dst in targets
                  if layer(dst) in FORBIDDEN.get(layer(src), ()))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative enough for
    a graph this size)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop `package -> its own submodule` edges (an __init__ naming its parts is not a
    cycle of behaviour)."""
    return {src: {t for t in targets if not t.startswith(src + ".")}
            for src, targets in graph.items()}


def service_package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    def package(module: str) -> str | None:
        parts = module.split(".")
        return parts[2] if len(parts) > 3 and parts[1] == "services" else None

    packages: dict[str, set[str]] = {}
    for src, targets in graph.items():
        if package(src):
            packages.setdefault(package(src), set()).update(
                p for p in map(package, targets) if p and p != package(src))
    return packages


def test_layers_point_inward():
    assert layer_violations(import_graph(SRC)) == []


def test_no_module_import_cycle():
    assert cycles(_without_packages(import_graph(SRC))) == []


def test_no_cycle_between_service_packages():
    assert cycles(service_package_graph(import_graph(SRC))) == []


@pytest.fixture
def planted(tmp_path):
    shutil.copytree(SRC / "gongji", tmp_path / "gongji",
                    ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    return tmp_path


def _plant(root: Path, module: str, line: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n\ndef _planted():\n    {line}\n",
                    encoding="utf-8")


def test_a_planted_layer_violation_is_caught(planted):
    _plant(planted, "gongji.domain.money", "from gongji.store import repo  # noqa")

    assert "gongji.domain.money -> gongji.store.repo" in layer_violations(import_graph(planted))


def test_a_planted_cycle_is_caught(planted):
    _plant(planted, "gongji.services.clock", "from gongji.services import context  # noqa")

    assert ["gongji.services.clock", "gongji.services.context"] in cycles(
        _without_packages(import_graph(planted)))


def test_a_planted_package_cycle_is_caught(planted):
    _plant(planted, "gongji.services.reads.paging",
           "from gongji.services.settlement import settle  # noqa")

    assert any("reads" in c and "settlement" in c
               for c in cycles(service_package_graph(import_graph(planted))))
