"""Every third-party module the shipped packages import is a declared runtime dependency.

The shipped code is tapserver/, ingest/ and migrations/ (what the wheel holds). An import satisfied only by
the dev extra (or by another package's requirements) works in the development environment and fails in
production, so a direct import must name its distribution in `[project] dependencies`.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.nodb

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("tapserver", "ingest", "migrations")


def _imports(path: Path) -> Iterator[str]:
    """Top-level names of the absolute imports of one file (wherever they are: module, function, branch)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> files importing it, for every module neither stdlib nor shipped."""
    found: dict[str, set[str]] = {}
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _imports(path):
                if name not in sys.stdlib_module_names and name not in SHIPPED and name != "__future__":
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def declared_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {canonicalize_name(Requirement(spec).name) for spec in project["dependencies"]}


def test_the_scan_sees_imports() -> None:
    imports = third_party_imports()
    assert {"fastapi", "sqlalchemy", "astropy", "alembic"} <= set(imports)


def test_every_import_is_a_runtime_dependency() -> None:
    distributions = packages_distributions()
    declared = declared_dependencies()
    missing = {}
    for module, files in third_party_imports().items():
        providers = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not providers & declared:
            missing[module] = (sorted(providers) or ["not installed"], sorted(files)[:3])
    assert not missing, f"imported but not in [project] dependencies of pyproject.toml: {missing}"
