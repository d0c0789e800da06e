"""A pytest plugin: import the ledger's modules from their Python source even where they are compiled.

``make install`` compiles the ledger's hot modules (``ledger/native.py``); an install with
``TANHUI_COMPILE=0`` runs the same source uncompiled. ``make test`` runs the ledger's tests a second
time with this plugin (``-p tests.pure_ledger``), so that both builds are held to the same tests without
reinstalling in between. Only this process imports source: processes it starts (the command line, the
integrity process of a two-process verification) still run what is installed.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

LEDGER = Path(__file__).resolve().parent.parent / "ledger"


class SourceFirst(MetaPathFinder):
    """Finds ``ledger.<module>`` as its ``.py`` file, ahead of a compiled library beside it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        package, _, name = fullname.partition(".")
        if package != "ledger" or not name or "." in name:
            return None
        source = LEDGER / f"{name}.py"
        return importlib.util.spec_from_file_location(fullname, source) if source.is_file() else None


if any(module == "ledger" or module.startswith("ledger.") for module in sys.modules):
    raise RuntimeError("tests.pure_ledger must be loaded before anything imports the ledger")
sys.meta_path.insert(0, SourceFirst())
