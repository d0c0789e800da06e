"""A bad packaged reference data file stops the registry at start-up, naming the data and what is wrong:
``create_app`` raises, and a ``tanhui`` command fails with one line, before anything is read or written.

Each case edits a copy of the packaged files the way a registry editing them might, points the loader at
the copy, and clears the loader's per-process cache around the test (offsets/reference_data.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from offsets import regions
from offsets.footprints import factors
from offsets.methodologies import parameters
from offsets.reference_data import ReferenceDataError, check_reference_data
from web.app import create_app
from web.cli import main


def copied(tmp_path: Path, package: str, edit: Callable[[Path], None]) -> Path:
    folder = tmp_path / package.rsplit(".", 1)[1]
    shutil.copytree(Path(str(files(package))), folder)
    edit(folder)
    return folder


def replaced(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def leakage_of_fifteen_percent(folder: Path) -> None:
    """AR-CM-001-V01's cited leakage rule turned into one its calculator cannot apply (it applies zero)."""
    replaced(
        folder / "methodology_rules.toml", 'value = "0"\nsymbol = "LK_t"', 'value = "15%"\nsymbol = "LK_t"'
    )


def county_in_no_zone(folder: Path) -> None:
    replaced(
        folder / "sichuan_divisions.csv",
        "510104,锦江区,county,510100,成都市,川中,",
        "510104,锦江区,county,510100,成都市,川北,",
    )


def factor_without_a_unit(folder: Path) -> None:
    replaced(folder / "factors_v2.toml", 'value = "0.5568"\nunit = "kgCO2/kWh"\n', 'value = "0.5568"\n')


CASES = {
    "rules": (
        "offsets.data.parameters",
        leakage_of_fifteen_percent,
        lambda monkeypatch, folder: monkeypatch.setattr(parameters, "_DATA", folder),
        parameters.packaged,
        "reference data (methodology parameters and rules): ",
        "not a fixed zero",
    ),
    "divisions": (
        "offsets.data.regions",
        county_in_no_zone,
        lambda monkeypatch, folder: monkeypatch.setattr(regions, "_DATA", folder),
        regions.regions,
        "reference data (administrative divisions, zones and poverty-alleviation counties): ",
        "川北",
    ),
    "factors": (
        "offsets.data.emission_factors",
        factor_without_a_unit,
        lambda monkeypatch, folder: monkeypatch.setattr(factors, "files", lambda _package: folder),
        factors._load_packaged,
        "reference data (footprint emission factors): factors_v2.toml",
        "unit",
    ),
}


@pytest.fixture(params=sorted(CASES))
def broken(request, tmp_path, monkeypatch) -> Iterator[tuple[str, str]]:
    """The packaged data with one bad file; yields what the refusal starts with and a word it holds."""
    package, edit, point, cached, prefix, word = CASES[request.param]
    point(monkeypatch, copied(tmp_path, package, edit))
    cached.cache_clear()
    yield prefix, word
    monkeypatch.undo()
    cached.cache_clear()


def test_the_packaged_reference_data_pass_the_start_up_check():
    check_reference_data()


def test_a_bad_data_file_is_named_by_the_start_up_check(broken):
    prefix, word = broken
    with pytest.raises(ReferenceDataError) as caught:
        check_reference_data()
    assert str(caught.value).startswith(prefix)
    assert word in str(caught.value)


def test_the_app_is_not_created_on_bad_reference_data(broken, tmp_path):
    prefix, _ = broken
    with pytest.raises(ReferenceDataError) as caught:
        create_app(
            {
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
                "TANHUI_SIGNING_KEY_FILE": str(tmp_path / "never.key"),
                "TANHUI_SCHEDULER": False,
            }
        )
    assert str(caught.value).startswith(prefix)
    assert not (tmp_path / "never.db").exists()
    assert not (tmp_path / "instance").exists()


def test_a_command_fails_with_one_line_on_bad_reference_data(broken, tmp_path):
    prefix, word = broken
    env = {
        "TANHUI_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
        "TANHUI_SIGNING_KEY_FILE": str(tmp_path / "never.key"),
        "TANHUI_SCHEDULER": "false",
    }
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 1
    assert result.output.startswith(f"tanhui: {prefix}")
    assert word in result.output
    assert result.output.count("\n") == 1
    assert not (tmp_path / "never.db").exists()
