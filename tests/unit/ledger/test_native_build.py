"""The compiled build of the ledger's hot modules: what CI runs, and the guard against stale libraries."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import os
import pickle
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from ledger import native
from ledger.native import COMPILED_MODULES, MANIFEST, StaleBuild, check_build, write_manifest

SUFFIX = EXTENSION_SUFFIXES[0]


def fake_package(root: Path, *, compiled: tuple[str, ...] = COMPILED_MODULES) -> Path:
    package = root / "ledger"
    package.mkdir()
    for module in COMPILED_MODULES:
        (package / f"{module}.py").write_text(f'"""{module}"""\n', encoding="utf-8")
    for module in compiled:
        (package / f"{module}{SUFFIX}").write_bytes(b"\x7fELF not really")
    return package


def test_a_build_whose_sources_are_unchanged_passes(tmp_path: Path) -> None:
    package = fake_package(tmp_path)
    write_manifest("2.4.1", package)
    check_build(package)
    recorded = json.loads((package / MANIFEST).read_text())
    assert recorded["mypyc"] == "2.4.1"
    assert sorted(recorded["sources"]) == sorted(COMPILED_MODULES)


@pytest.mark.parametrize("module", COMPILED_MODULES)
def test_an_edited_source_is_refused_by_name(tmp_path: Path, module: str) -> None:
    package = fake_package(tmp_path)
    write_manifest("2.4.1", package)
    source = package / f"{module}.py"
    source.write_text(source.read_text() + "# edited\n")
    with pytest.raises(StaleBuild, match=rf"ledger/{module}\.py has changed since it was compiled"):
        check_build(package)


def test_libraries_without_a_manifest_are_refused(tmp_path: Path) -> None:
    package = fake_package(tmp_path, compiled=("rules",))
    with pytest.raises(StaleBuild, match=f"no readable {MANIFEST}"):
        check_build(package)
    (package / MANIFEST).write_text("{not json")
    with pytest.raises(StaleBuild, match=f"no readable {MANIFEST}"):
        check_build(package)


def test_an_uncompiled_package_needs_no_manifest(tmp_path: Path) -> None:
    package = fake_package(tmp_path, compiled=())
    check_build(package)
    # An edit is harmless when nothing is compiled, even with an old manifest left behind.
    write_manifest("2.4.1", package)
    (package / "rules.py").write_text("# edited\n")
    check_build(package)


def test_the_guard_is_an_import_error(tmp_path: Path) -> None:
    # Raised while importing ``ledger``, it must read as an import failure, with the remedy in one line.
    assert issubclass(StaleBuild, ImportError)
    package = fake_package(tmp_path, compiled=("entries",))
    write_manifest("2.4.1", package)
    (package / "entries.py").write_text("# edited\n")
    with pytest.raises(ImportError) as raised:
        check_build(package)
    assert "\n" not in str(raised.value)
    assert "make install" in str(raised.value)


def test_the_modules_named_for_compiling_exist() -> None:
    for module in COMPILED_MODULES:
        assert (native.PACKAGE_DIR / f"{module}.py").is_file(), module


PURE_RUN = "tests.pure_ledger" in sys.modules
"""Whether this run imports the ledger from source (``make test``'s second pass, ``-p tests.pure_ledger``)."""


@pytest.mark.skipif(
    os.environ.get("CI") != "true" or os.environ.get("TANHUI_COMPILE") == "0" or PURE_RUN,
    reason="only CI's first pass requires the compiled build (make install compiles unless TANHUI_COMPILE=0)",
)
def test_ci_runs_the_compiled_modules() -> None:
    # CI tests what production runs: each hot module comes from its shared library, built from the
    # source in this checkout.
    for module in COMPILED_MODULES:
        loaded = importlib.import_module(f"ledger.{module}")
        assert loaded.__file__ is not None
        assert loaded.__file__.endswith(SUFFIX), f"ledger.{module} was imported from {loaded.__file__}"
    check_build()
    assert native.build_description().startswith("compiled with mypyc ")


@pytest.mark.skipif(not PURE_RUN, reason="only the pass with -p tests.pure_ledger imports the source")
def test_the_pure_pass_runs_the_source() -> None:
    for module in COMPILED_MODULES:
        loaded = importlib.import_module(f"ledger.{module}")
        assert loaded.__file__ == str(native.PACKAGE_DIR / f"{module}.py")


# --- behaviour a compiled build must keep -----------------------------------------------------------------
# mypyc checks declared types at run time and unboxes narrowed integers, so a function that defends
# against wrong input must declare ``object``, and a boolean must never pass through an ``int``. These hold
# for either build; CI runs them compiled.


def test_issue_attributes_keep_their_json_types() -> None:
    from ledger.commands import Allocation, Issue
    from ledger.rules import MemoryState, resolve

    command = Issue(
        request_id="attr-types-1",
        project="LS01",
        vintage="2024",
        number=1,
        allocations=(Allocation("OWN-A", 10),),
        attributes={"poverty_county": True, "area_mu": 5, "zone": " 川西南 ", "pilot": False},
    )
    data, _secret = resolve(command, MemoryState(["OWN-A"]))
    attributes = data["batch"]["attributes"]
    assert attributes == {"poverty_county": True, "area_mu": 5, "zone": "川西南", "pilot": False}
    assert [type(attributes[key]) for key in ("poverty_county", "area_mu", "pilot")] == [bool, int, bool]


@pytest.mark.parametrize("number", [True, "1", 1.0, None])
def test_a_batch_number_that_is_not_an_integer_is_refused(number: object) -> None:
    from ledger.errors import InvalidCommand
    from ledger.serials import batch_id

    with pytest.raises(InvalidCommand, match="batch number"):
        batch_id("LS01", "2024", number)


@pytest.mark.parametrize("value", [5, None, b"LS01-2024-001", ["LS01-2024-001"]])
def test_ids_that_are_not_text_are_refused_as_bad_input(value: object) -> None:
    from ledger.entries import parse_time
    from ledger.errors import InvalidCommand
    from ledger.serials import check_account_id, parse_batch_id

    with pytest.raises(InvalidCommand):
        parse_batch_id(value)
    with pytest.raises(InvalidCommand):
        check_account_id(value)
    with pytest.raises(ValueError, match="not an RFC 3339 UTC time"):
        parse_time(value)


SAMPLE_VALUES: dict[str, tuple[object, ...]] = {
    "SerialRange": ("LS01-2024-001", 1, 5),
    "BatchId": ("LS01", "2024", 1),
    "BeneficiarySecret": ("张三", "00" * 16),
    "VerificationReport": (40, 2, 40, 7, 12, 2),
    "IntegrityOutcome": ("ab" * 32, None),
}


def dataclasses_of_compiled_modules() -> dict[str, type]:
    found = {}
    for module in COMPILED_MODULES:
        loaded = importlib.import_module(f"ledger.{module}")
        for name, value in vars(loaded).items():
            if dataclasses.is_dataclass(value) and value.__module__ == loaded.__name__:
                found[name] = value
    return found


def test_every_dataclass_of_a_compiled_module_has_a_sample_here() -> None:
    assert sorted(dataclasses_of_compiled_modules()) == sorted(SAMPLE_VALUES)


@pytest.mark.parametrize("name", sorted(SAMPLE_VALUES))
def test_values_of_compiled_modules_copy_and_pickle(name: str) -> None:
    value = dataclasses_of_compiled_modules()[name](*SAMPLE_VALUES[name])
    for copied in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
        assert copied == value
        assert type(copied) is type(value)
