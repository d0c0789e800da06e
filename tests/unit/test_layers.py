"""DESIGN.md's layering, checked on the source: dependencies point downwards, the domain is Flask-free."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"ledger", "offsets", "marketplace", "api", "web", "migrations"}
MAY_IMPORT = {
    "ledger": {"ledger"},
    "offsets": {"offsets", "ledger"},
    "marketplace": {"marketplace", "offsets", "ledger"},
    "api": {"api", "marketplace", "offsets", "ledger"},
    "web": OURS,
    # migrations/env.py imports every package's models (api.models: API keys) so that Alembic sees one schema.
    "migrations": {"migrations", "ledger", "offsets", "marketplace", "api"},
}
WEB_FRAMEWORKS = {"flask", "werkzeug", "marshmallow"}
DOMAIN = {"ledger", "offsets", "marketplace"}


def imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


MODULES = sorted((package, path) for package in MAY_IMPORT for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize(("package", "path"), MODULES, ids=[str(p.relative_to(ROOT)) for _, p in MODULES])
def test_a_module_imports_only_from_its_own_layer_or_below(package, path):
    ours = imported_top_levels(path) & OURS
    assert ours <= MAY_IMPORT[package], (
        f"{path.relative_to(ROOT)} imports {sorted(ours - MAY_IMPORT[package])}"
    )
    if package in DOMAIN:
        frameworks = imported_top_levels(path) & WEB_FRAMEWORKS
        assert not frameworks, f"domain module {path.relative_to(ROOT)} imports {sorted(frameworks)}"


def test_the_layer_check_sees_the_ledger():
    assert any(package == "ledger" for package, _ in MODULES)
