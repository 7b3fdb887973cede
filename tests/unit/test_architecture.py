"""The import graph of our own code, read with ``ast`` (nothing is imported, and imports inside
functions count like the others): no import circles, the job domain's tiers respected
(``docs/architecture.md``, *The job domain*), and thin handlers.

``PACKAGES`` says what is read (no circles for all of them, tiers for the job domain): add ``lipsync``
there to hold it to the same rules."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {  # top-level name -> its folder
    "lipsync_core": ROOT / "layers" / "lipsync" / "python" / "lipsync_core",
    "functions": ROOT / "functions",
    "infra": ROOT / "infra",
    "lipsync_client": ROOT / "src" / "lipsync_client",
    "lipsync": ROOT / "src" / "lipsync",
    "tools": ROOT / "tools",
}
# What each installed or deployed package may never import: the layer runs on Lambda without the rest,
# and the installed packages without the repository's release tools.
FORBIDDEN = {
    "lipsync_core": ("lipsync", "lipsync_client", "infra", "functions", "tools"),
    "lipsync_client": ("lipsync", "infra", "functions", "tools"),
    "lipsync": (
        "functions",
        "tools",
    ),  # infra: installed as lipsync_infra, which the local runtime synthesizes
    "infra": ("lipsync", "functions", "tools"),
}
JOBS = "lipsync_core.jobs"
# The job domain's tiers, and the tiers each may import (its own too: circles are caught apart).
TIERS: dict[str, set[str]] = {
    "domain": {"domain"},
    "access": {"domain", "access"},
    "steps": {"domain", "access", "steps"},
    "entry": {"domain", "access", "entry"},
}
# Above the tiers: each Lambda environment's wiring, which only the handlers (and tests) import.
WIRING = {f"{JOBS}.clients", f"{JOBS}.rest_api"}
MAX_HANDLER_LINES = 80

Graph = dict[str, set[str]]


def module_files(packages: Mapping[str, Path]) -> dict[str, Path]:
    """Dotted module name -> file, for every module under ``packages``."""
    found = {}
    for top, folder in packages.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [top, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imported_names(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """What an import statement names, as absolute dotted names: each ``from`` name as a submodule
    (``from package import module``), which ``import_graph`` cuts back to the module that exists."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".")[: len(module.split(".")) - node.level + is_package]
            base = ".".join([*package, *([base] if base else [])])
        yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(packages: Mapping[str, Path]) -> Graph:
    """Module -> the first-party modules it imports (anywhere in the file, functions included)."""
    files = module_files(packages)
    graph: Graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = set()
        for node in ast.walk(tree):
            for name in _imported_names(node, module, path.name == "__init__.py"):
                while name and name not in files:  # a name defined in a module: that module
                    name = name.rpartition(".")[0]
                if name and name != module:
                    targets.add(name)
        graph[module] = targets
    return graph


def circles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            following = next((t for t in edges if t in graph), None)
            if following is not None:
                if following not in index:
                    index[following] = low[following] = len(index)
                    stack.append(following)
                    on_stack.add(following)
                    work.append((following, iter(sorted(graph[following]))))
                elif following in on_stack:
                    low[node] = min(low[node], index[following])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def tier(module: str) -> str | None:
    """The job domain's tier of ``module`` (None outside the tiers)."""
    parts = module.split(".")
    return parts[2] if module.startswith(f"{JOBS}.") and parts[2] in TIERS else None


def layering_violations(graph: Graph) -> list[str]:
    """Every import that goes against the layers, as ``importer -> imported: why``."""
    found = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            in_jobs = target == JOBS or target.startswith(f"{JOBS}.")
            if module.startswith("lipsync_core.") and not module.startswith(JOBS) and in_jobs:
                found.append(f"{module} -> {target}: the job domain builds on lipsync_core, not under it")
            elif tier(module) and target in WIRING:
                found.append(f"{module} -> {target}: the wiring is the handlers' to import")
            elif tier(module) and in_jobs and tier(target) not in TIERS[str(tier(module))]:
                found.append(
                    f"{module} -> {target}: {tier(module)} may import {sorted(TIERS[str(tier(module))])}"
                )
            elif module.startswith("functions.") and target.startswith("functions."):
                found.append(f"{module} -> {target}: a handler imports no other handler")
            elif any(target.split(".")[0] == name for name in FORBIDDEN.get(module.split(".")[0], ())):
                found.append(
                    f"{module} -> {target}: {module.split('.')[0]} ships without {target.split('.')[0]}"
                )
    return found


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph(PACKAGES)


def test_there_are_no_import_circles(graph: Graph) -> None:
    assert circles(graph) == []


def test_the_job_domain_keeps_its_tiers(graph: Graph) -> None:
    assert layering_violations(graph) == []


def test_every_module_of_the_job_domain_has_its_place(graph: Graph) -> None:
    tiers = {f"{JOBS}.{name}" for name in TIERS}
    misplaced = [
        module
        for module in graph
        if module.startswith(f"{JOBS}.") and module not in WIRING | tiers and tier(module) is None
    ]
    assert misplaced == []
    assert graph[JOBS] == set(), "the package itself imports nothing"


def test_handlers_are_thin() -> None:
    handlers = sorted((ROOT / "functions").glob("*/handler.py"))
    assert len(handlers) >= 9
    long = {
        str(path.relative_to(ROOT)): n for path in handlers if (n := len(path.read_text().splitlines())) > 80
    }
    assert long == {}, f"at most {MAX_HANDLER_LINES} lines: parse the event, call the logic, shape the answer"


def test_the_checks_see_an_upward_import_and_a_circle_hidden_in_a_function(tmp_path: Path) -> None:
    jobs = tmp_path / "lipsync_core" / "jobs"
    for folder in ("domain", "access"):
        (jobs / folder).mkdir(parents=True)
        (jobs / folder / "__init__.py").write_text("")
    (tmp_path / "lipsync_core" / "__init__.py").write_text("")
    (jobs / "__init__.py").write_text("")
    (jobs / "domain" / "models.py").write_text(
        "def load() -> None:\n    from ..access import store  # upward, and hidden in a function\n"
    )
    (jobs / "access" / "store.py").write_text("from lipsync_core.jobs.domain.models import load\n")
    graph = import_graph({"lipsync_core": tmp_path / "lipsync_core"})
    assert graph[f"{JOBS}.domain.models"] == {f"{JOBS}.access.store"}
    assert circles(graph) == [[f"{JOBS}.access.store", f"{JOBS}.domain.models"]]
    assert layering_violations(graph) == [
        f"{JOBS}.domain.models -> {JOBS}.access.store: domain may import ['domain']"
    ]
