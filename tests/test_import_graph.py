"""The import graph of the tapserver package, read from the source (every import statement, including those
inside functions and under ``TYPE_CHECKING``): no cycle between packages, no cycle between modules, and no
feature package reaching into ``tapserver.tap``.

A "package" is a subpackage (``tapserver.datalink``) or a top-level module (``tapserver.config``). The TAP
service composes the feature packages (DataLink, provenance, SODA, ...), never the other way round; what
they share lives in neutral packages (``tapserver.dali``, ``tapserver.vosi``, ``tapserver.catalog``...).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import tapserver

pytestmark = pytest.mark.nodb

ROOT = Path(tapserver.__file__).parent

#: Packages that offer a service of their own and must not import ``tapserver.tap`` internals.
FEATURES = ("adql", "auth", "catalog", "datalink", "gadf", "provenance", "registry", "soda", "uploads", "uws",
            "web")

#: Imports tolerated, as (importing module or "*", imported module, imported name or "*"). They are left out
#: of every check; each entry must say why. None is needed today.
ALLOWED: frozenset[tuple[str, str, str]] = frozenset()


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    name: str  # "*" for ``import x`` / ``from x import submodule``
    line: int

    def __str__(self) -> str:
        shown = self.imported if self.name == "*" else f"{self.imported}.{self.name}"
        return f"{self.importer}:{self.line} imports {shown}"


def module_paths(root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file, for every module of the package (packages by their ``__init__``)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _absolute(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(importer: str, path: Path, modules: Mapping[str, Path]) -> list[Import]:
    """The imports of package modules that ``importer`` (at ``path``) makes anywhere in its source."""
    found = []
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(importer, alias.name, "*", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(importer, is_package, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in modules:
                    found.append(Import(importer, submodule, "*", node.lineno))
                else:
                    found.append(Import(importer, source, alias.name, node.lineno))
    return [i for i in found if i.imported in modules and i.imported != importer]


def allowed(i: Import, allow: Iterable[tuple[str, str, str]] = ALLOWED) -> bool:
    return any(importer in ("*", i.importer) and imported == i.imported and name in ("*", i.name)
               for importer, imported, name in allow)


def graph(root: Path = ROOT) -> list[Import]:
    """Every import between modules of the package, except the allowed ones."""
    modules = module_paths(root)
    return [i for name, path in modules.items() for i in imports_of(name, path, modules) if not allowed(i)]


def package_of(module: str) -> str:
    """``tapserver.datalink.routes`` -> ``tapserver.datalink``; ``tapserver.config`` stays itself."""
    return ".".join(module.split(".")[:2])


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges.get(successor, ())))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
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


def package_edges(imports: Iterable[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for i in imports:
        if package_of(i.importer) != package_of(i.imported):
            edges[package_of(i.importer)].add(package_of(i.imported))
    return edges


def module_edges(imports: Iterable[Import], modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Imports between modules; an import of a package's ``__init__`` (its public face, which re-exports
    its own modules) is no edge."""
    edges: dict[str, set[str]] = defaultdict(set)
    for i in imports:
        if modules[i.imported].name != "__init__.py":
            edges[i.importer].add(i.imported)
    return edges


def explain(components: list[list[str]], edges: Mapping[str, set[str]], imports: Iterable[Import],
            key: Callable[[str], str]) -> str:
    """The cycles with the import statements that make them."""
    lines = []
    for component in components:
        members = set(component)
        lines.append("cycle: " + " <-> ".join(component))
        lines += [f"    {i}" for i in imports if key(i.importer) in members and key(i.imported) in members
                  and key(i.imported) in edges.get(key(i.importer), ())]
    return "\n".join(lines)


def tap_internals(imports: Iterable[Import]) -> list[Import]:
    """Imports of ``tapserver.tap`` modules by feature packages."""
    features = {f"tapserver.{name}" for name in FEATURES}
    return [i for i in imports if package_of(i.importer) in features and package_of(i.imported) == "tapserver.tap"]


def test_no_cycle_between_packages() -> None:
    imports = graph()
    edges = package_edges(imports)
    found = cycles(edges)
    assert not found, explain(found, edges, imports, package_of)


def test_no_cycle_between_modules() -> None:
    imports = graph()
    edges = module_edges(imports, module_paths())
    found = cycles(edges)
    assert not found, explain(found, edges, imports, str)


def test_feature_packages_do_not_import_tap_internals() -> None:
    found = tap_internals(graph())
    assert not found, "\n".join(map(str, found))


def test_the_checks_see_every_import_and_honour_the_allow_list(tmp_path: Path) -> None:
    """Imports inside functions and under TYPE_CHECKING, relative imports and ``from package import
    module`` are read; allow-list entries match by importer and name."""
    pkg = tmp_path / "tapserver"
    for rel, text in {
        "__init__.py": "",
        "config.py": "def f():\n    from tapserver.uploads import policy\n",
        "uploads/__init__.py": "from .policy import Policy\n",
        "uploads/policy.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..config import f\n"
                             "class Policy: ...\n",
        "tap/__init__.py": "",
        "tap/params.py": "from tapserver.tap import routes\n",
        "tap/routes.py": "from tapserver.datalink import links\nrequest_params = None\n",
        "datalink/__init__.py": "",
        "datalink/links.py": "from tapserver.tap.routes import request_params\nfrom tapserver.tap import params\n",
    }.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    modules = module_paths(pkg)
    every = [i for name, path in modules.items() for i in imports_of(name, path, modules)]
    assert {(i.importer, i.imported, i.name) for i in every} == {
        ("tapserver.config", "tapserver.uploads.policy", "*"),
        ("tapserver.uploads", "tapserver.uploads.policy", "Policy"),
        ("tapserver.uploads.policy", "tapserver.config", "f"),
        ("tapserver.tap.params", "tapserver.tap.routes", "*"),
        ("tapserver.tap.routes", "tapserver.datalink.links", "*"),
        ("tapserver.datalink.links", "tapserver.tap.routes", "request_params"),
        ("tapserver.datalink.links", "tapserver.tap.params", "*"),
    }
    reader = ("*", "tapserver.tap.routes", "request_params")
    params = ("*", "tapserver.tap.params", "*")
    cases: list[tuple[frozenset[tuple[str, str, str]], list[list[str]], list[list[str]], int]] = [
        # (allow-list, package cycles, module cycles, imports of tapserver.tap by feature packages)
        (frozenset(), [["config", "uploads"], ["datalink", "tap"]],
         [["config", "uploads.policy"], ["datalink.links", "tap.params", "tap.routes"]], 2),
        (frozenset({reader}), [["config", "uploads"], ["datalink", "tap"]],
         [["config", "uploads.policy"], ["datalink.links", "tap.params", "tap.routes"]], 1),
        (frozenset({reader, params}), [["config", "uploads"]], [["config", "uploads.policy"]], 0),
        (frozenset({("tapserver.other", "tapserver.tap.routes", "*"), params}),
         [["config", "uploads"], ["datalink", "tap"]], [["config", "uploads.policy"], ["datalink.links", "tap.routes"]],
         1),
    ]
    for allow, package_cycles, module_cycles, tap_imports in cases:
        kept = [i for i in every if not allowed(i, allow)]
        assert sorted(cycles(package_edges(kept))) == [[f"tapserver.{n}" for n in c] for c in package_cycles], allow
        assert sorted(cycles(module_edges(kept, modules))) == [[f"tapserver.{n}" for n in c] for c in module_cycles], \
            allow
        assert len(tap_internals(kept)) == tap_imports, allow
