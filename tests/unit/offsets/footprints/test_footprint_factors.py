"""The emission-factor files: every factor cited and plausible, versioned, and malformed files refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from offsets.footprints import FactorDataError, FactorNotAvailable, load, packaged
from offsets.footprints.factors import UNITS

GOOD_ROW = """
[[factor]]
id = "grid.national.2022"
kind = "grid_electricity"
region = "national"
year = 2022
value = "0.5366"
unit = "kgCO2/kWh"
source = "MEE/NBS 2022 announcement"
read_in = "a report"
"""


def write(tmp_path: Path, text: str, name: str = "factors_v7.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("version", [1, 2])
def test_every_packaged_factor_names_its_source_year_region_and_unit(version):
    factors = packaged(version)

    assert factors.version == version
    for factor in factors.factors.values():
        assert factor.source.strip()
        assert factor.read_in.strip()
        assert UNITS[factor.unit].kind == factor.kind
        assert factor.id.endswith(str(factor.year))
        assert factor.region


def test_the_latest_factor_set_is_the_default():
    assert packaged().version == 2
    assert packaged() is packaged(2)


def test_version_2_keeps_every_row_of_version_1_unchanged():
    old, new = packaged(1).factors, packaged(2).factors

    assert {key: new[key] for key in old} == dict(old)


def test_the_official_national_grid_factors_are_those_announced():
    factors = packaged(1).factors

    assert factors["grid.national.2021"].value == Decimal("0.5568")
    assert factors["grid.national.2022"].value == Decimal("0.5366")
    assert factors["grid.national.2023"].value == Decimal("0.5306")
    assert factors["grid.sichuan.2022"].value == Decimal("0.1404")


def test_a_region_without_a_year_gets_its_latest_cited_year():
    assert packaged(1).grid("national", None, field="f").year == 2023
    assert packaged(1).grid("sichuan", None, field="f").year == 2022
    assert packaged(2).grid("sichuan", None, field="f").year == 2023


def test_a_year_or_region_not_cited_is_refused_naming_the_field():
    factors = packaged(1)

    with pytest.raises(FactorNotAvailable) as missing_year:
        factors.grid("sichuan", 2023, field="grid_year")
    with pytest.raises(FactorNotAvailable) as missing_region:
        factors.grid("chengdu", None, field="grid_region")

    assert missing_year.value.field == "grid_year"
    assert missing_region.value.field == "grid_region"


def test_an_unknown_factor_set_version_is_refused():
    with pytest.raises(FactorNotAvailable):
        packaged(999)


def test_a_well_formed_file_loads_with_its_version(tmp_path):
    factors = load(write(tmp_path, 'version = 7\npublished = "2026-11-24"\n' + GOOD_ROW))

    assert factors.version == 7
    assert factors.factors["grid.national.2022"].kg_per_activity_unit == Decimal("0.5366")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('version = 8\npublished = "2026-11-24"\n' + GOOD_ROW, "does not match"),
        ('version = 7\npublished = "yesterday"\n' + GOOD_ROW, "published"),
        ('version = 7\npublished = "2026-11-24"\n', "[[factor]]"),
        ('version = 7\npublished = "2026-11-24"\n' + GOOD_ROW.replace('"0.5366"', "0.5366"), "value"),
        ('version = 7\npublished = "2026-11-24"\n' + GOOD_ROW.replace('"0.5366"', '"5.366"'), "outside"),
        ('version = 7\npublished = "2026-11-24"\n' + GOOD_ROW.replace('"0.5366"', '"-0.5"'), "value"),
        ('version = 7\npublished = "2026-11-24"\n' + GOOD_ROW.replace('"kgCO2/kWh"', '"kg/MWh"'), "unit"),
        ('version = 7\npublished = "2026-11-24"\n' + GOOD_ROW.replace('"a report"', '"  "'), "read_in"),
        ('version = 7\npublished = "2026-11-24"\n' + GOOD_ROW.replace("year = 2022", "year = 2021"), "year"),
        ('version = 7\npublished = "2026-11-24"\n' + GOOD_ROW + GOOD_ROW, "duplicate"),
        ('version = 7\npublished = "2026-11-24"\n' + GOOD_ROW + 'guess = "x"\n', "unknown"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_problem(tmp_path, text, message):
    with pytest.raises(FactorDataError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load(write(tmp_path, text))


def test_a_file_not_named_by_its_version_is_refused(tmp_path):
    with pytest.raises(FactorDataError, match="factors_v"):
        load(write(tmp_path, 'version = 1\npublished = "2026-11-24"\n' + GOOD_ROW, name="latest.toml"))


HEAD = 'version = 7\npublished = "2026-11-24"\n'


def row_with(**changes: str) -> str:
    """GOOD_ROW with fields replaced (a TOML value as written) or, given "", dropped."""
    lines = GOOD_ROW.strip("\n").split("\n")
    out = []
    for line in lines:
        key = line.split(" = ")[0]
        if key in changes:
            if changes[key]:
                out.append(f"{key} = {changes.pop(key)}")
            else:
                changes.pop(key)
            continue
        out.append(line)
    out += [f"{key} = {value}" for key, value in changes.items()]
    return "\n" + "\n".join(out) + "\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (row_with(read_in=""), "missing ['read_in'], unknown []"),
        (row_with(guess='"x"'), "missing [], unknown ['guess']"),
        (row_with(id=f'"{"g" * 2001}"'), "'id' must be a non-empty text of at most 2000 chars"),
        (row_with(year="1989"), "year must be an integer between 1990 and 2100"),
        (row_with(year="2101"), "year must be an integer between 1990 and 2100"),
        (row_with(year="true"), "year must be an integer between 1990 and 2100"),
        (row_with(value='"0.0"'), "value 0.0 kgCO2/kWh is outside (0, 2]"),
        (row_with(value='"2.00000001"'), "value 2.00000001 kgCO2/kWh is outside (0, 2]"),
    ],
)
def test_a_malformed_factor_is_refused_naming_its_place_in_the_file(tmp_path, row, message):
    with pytest.raises(FactorDataError) as refused:
        load(write(tmp_path, HEAD + GOOD_ROW.replace("national.2022", "sichuan.2022") + row))
    assert str(refused.value) == f"factors_v7.toml factor #2: {message}"


def test_a_factor_at_the_edges_of_its_ranges_is_accepted(tmp_path):
    rows = (
        row_with(year="1990", id='"grid.national.1990"', note='"a note is allowed"'),
        row_with(value='"2"'),  # the ceiling of kgCO2/kWh
    )
    factors = load(write(tmp_path, HEAD + "".join(rows)))
    assert factors.published.isoformat() == "2026-11-24"
    assert [(f.year, f.value) for f in factors.factors.values()] == [(1990, Decimal("0.5366")), (2022, 2)]
    assert factors.grid_regions() == ("national",)
