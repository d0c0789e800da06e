"""Which ledger modules are compiled to C with mypyc, and the guard against running stale builds.

The hot paths of a batch append and of a verification (canonical bodies, the rules and value checks,
ranges, serials, the Merkle tree, the sequencer with its holdings store and bulk inserts, both halves
of a verification) are plain, fully typed Python. ``make install`` compiles
those modules with mypyc (``TANHUI_COMPILE=1``, see ``setup.py``): the same source, without the
interpreter's per-bytecode work; the benchmarks in ``benchmarks/`` measure the difference. Built with
``TANHUI_COMPILE=0``, everything runs as ordinary Python.

A compiled module is a shared library next to its ``.py`` file, and Python imports the library first.
An edit to the ``.py`` file would then be silently ignored, so the build records the SHA-256 of every
source it compiled (:data:`MANIFEST`), and importing :mod:`ledger` refuses to go on when a compiled
module's source no longer matches: rebuild with ``make install``.

This module itself is never compiled: ``setup.py`` reads it before anything is built.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

COMPILED_MODULES: tuple[str, ...] = (
    "bulk_insert",
    "canonical",
    "entries",
    "holdings_store",
    "merkle",
    "ranges",
    "rules",
    "sequencer",
    "serials",
    "value_checks",
    "verify",
    "verify_common",
    "verify_integrity",
)
"""Modules of :mod:`ledger` that ``TANHUI_COMPILE=1`` compiles, as one mypyc group.

Not :mod:`ledger.errors`: other packages subclass its exceptions and the API reads their class-level
``status`` and ``code``, which a compiled class hierarchy does not offer to subclasses made in Python.
Not :mod:`ledger.limits`: constants, nothing to gain, and tests lower them at run time. Not
:mod:`ledger.commands`: its dataclasses are built from callers' input, and compiled they would refuse a
wrongly typed field with a ``TypeError`` before ``validate`` could say which field is wrong.

What the compiled modules must keep to (``tests/unit/ledger/test_native_build.py`` holds them to it):

* a function that checks the type of its input at run time declares that input ``object`` (a narrower
  declaration is enforced on entry with a ``TypeError``, before the function's own clear refusal);
* no value that may be a ``bool`` is narrowed to ``int`` (it would be unboxed, and ``true`` become ``1``);
* results of SQLAlchemy queries are turned into plain tuples before they are unpacked;
* a frozen dataclass defines ``__reduce__`` through its constructor, or it cannot be copied or pickled;
* a class that Python code subclasses (the :class:`~ledger.sequencer.Sequencer`) says so with
  ``@mypyc_attr(allow_interpreted_subclasses=True)``.
"""

GROUP = "ledger.native"
"""The mypyc group: its shared runtime is the extension module ``ledger.native__mypyc``."""

MANIFEST = "native-sources.json"
"""Written into the package by a compiled build: ``{"mypyc": version, "sources": {module: sha256}}``."""

PACKAGE_DIR = Path(__file__).resolve().parent


class StaleBuild(ImportError):
    """A compiled module's source has changed since it was built."""


def source_digests(package_dir: Path = PACKAGE_DIR) -> dict[str, str]:
    """SHA-256 of each compiled module's source, as the build records them."""
    return {
        module: hashlib.sha256((package_dir / f"{module}.py").read_bytes()).hexdigest()
        for module in COMPILED_MODULES
    }


def write_manifest(mypyc_version: str, package_dir: Path = PACKAGE_DIR) -> None:
    manifest = {"mypyc": mypyc_version, "sources": source_digests(package_dir)}
    (package_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def compiled_libraries(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """The compiled modules whose shared library is present, by module name."""
    present = {path.name.split(".", 1)[0] for path in package_dir.glob("*.so")} | {
        path.name.split(".", 1)[0] for path in package_dir.glob("*.pyd")
    }
    return [module for module in COMPILED_MODULES if module in present]


def check_build(package_dir: Path = PACKAGE_DIR) -> None:
    """Raise :class:`StaleBuild` if a compiled module would run code other than its source says."""
    compiled = compiled_libraries(package_dir)
    if not compiled:
        return
    manifest_path = package_dir / MANIFEST
    try:
        recorded = json.loads(manifest_path.read_text())["sources"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StaleBuild(
            f"ledger has compiled modules but no readable {MANIFEST} ({exc}): rebuild with `make install`"
        ) from exc
    current = source_digests(package_dir)
    for module in compiled:
        if recorded.get(module) != current[module]:
            raise StaleBuild(
                f"ledger/{module}.py has changed since it was compiled: rebuild with `make install` "
                "(or `TANHUI_COMPILE=0 make install` to run it uncompiled)"
            )


def build_description() -> str:
    """One line for reports: whether the hot modules run compiled, and by which mypyc."""
    compiled = compiled_libraries()
    if not compiled:
        return "pure Python (not compiled)"
    try:
        version = json.loads((PACKAGE_DIR / MANIFEST).read_text())["mypyc"]
    except (OSError, ValueError, KeyError, TypeError):
        version = "unknown"
    if len(compiled) == len(COMPILED_MODULES):
        return f"compiled with mypyc {version}: {', '.join(COMPILED_MODULES)}"
    return f"partly compiled with mypyc {version}: {', '.join(compiled)}"
