"""Build hook: with ``TANHUI_COMPILE=1``, compile the ledger's hot modules to C with mypyc.

Everything else about the distribution is in ``pyproject.toml``. The list of modules, the guard against
stale builds and the reasons are in ``ledger/native.py``. mypyc type-checks against the installed
dependencies, so ``make install`` installs them first and then builds without isolation.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


# Commands that only write metadata: mypyc need not run for them (it takes most of a build's time).
METADATA_ONLY = {"dist_info", "egg_info", "sdist"}


def native_extensions() -> list:
    if os.environ.get("TANHUI_COMPILE", "0") != "1" or METADATA_ONLY & set(sys.argv[1:]):
        return []
    # ledger/native.py is read on its own: importing the ledger package would check the very build
    # that is being made.
    spec = importlib.util.spec_from_file_location("_tanhui_native", HERE / "ledger" / "native.py")
    assert spec is not None
    assert spec.loader is not None
    native = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(native)

    import mypy.version
    from mypyc.build import mypycify

    paths = [f"ledger/{module}.py" for module in native.COMPILED_MODULES]
    extensions = mypycify(paths, group_name=native.GROUP, opt_level="3", verbose=False)
    native.write_manifest(mypy.version.__version__, HERE / "ledger")
    return extensions


setup(ext_modules=native_extensions())
