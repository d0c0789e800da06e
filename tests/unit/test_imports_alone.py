"""Every module of the project imports on its own, first, as a tool, a worker or a test may import it.

A cycle hidden by the usual import order (a feature module importing the blueprint, which imported every
feature module) fails only when someone imports that module first; this imports each one first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "ledger", "marketplace", "offsets", "web", "migrations")

# One interpreter for all: before each import, every project module is forgotten, so that each module is
# the first of the project to be imported (third-party modules stay loaded, which changes nothing here).
PROBE = """
import importlib, sys
packages = {packages!r}
failed = []
for name in sys.argv[1:]:
    for loaded in [key for key in sys.modules if key.split(".")[0] in packages]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{{name}}: {{type(exc).__name__}}: {{exc}}")
print("\\n".join(failed))
"""


def project_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            if relative.parts[-1] == "__init__":
                relative = relative.parent
            if relative.parts[0] == "migrations" and relative.parts[-1] != "migrations":
                continue  # env.py and the revisions are run by alembic, with its context set up

            names.append(".".join(relative.parts))
    return names


def test_every_module_imports_first():
    modules = project_modules()
    assert "api.orders_views" in modules
    assert len(modules) > 150
    probe = PROBE.format(packages=PACKAGES)
    result = subprocess.run(
        [sys.executable, "-c", probe, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert result.stdout.strip() == ""
