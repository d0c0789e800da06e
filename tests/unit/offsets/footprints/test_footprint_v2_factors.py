"""Factor set version 2: the rows added by the third research pass, as the cited documents print them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from offsets.footprints import FactorDataError, FactorNotAvailable, load, packaged

V2 = packaged(2)

# GB/T 32151.34—2024 annex C table C.1 as read (see the read_in of each row): NCV, tC/GJ, oxidation.
TABLE_C1 = {
    "natural_gas": ("389.31", "GJ/10^4Nm3", "0.0153", "0.99"),
    "gasoline": ("43.070", "GJ/t", "0.0189", "0.98"),
    "diesel": ("42.652", "GJ/t", "0.0202", "0.98"),
    "liquefied_petroleum_gas": ("50.179", "GJ/t", "0.0172", "0.98"),
    "anthracite": ("26.7", "GJ/t", "0.0274", "0.94"),
    "bituminous_coal": ("19.570", "GJ/t", "0.0261", "0.93"),
    "lignite": ("11.9", "GJ/t", "0.028", "0.96"),
}


def test_sichuan_has_the_2023_provincial_grid_factor_of_the_mee_announcement():
    factor = V2.factors["grid.sichuan.2023"]

    assert factor.value == Decimal("0.1564")
    assert factor.unit == "kgCO2/kWh"
    assert "公告2025年第47号" in factor.source
    assert V2.grid("sichuan", None, field="grid_region") is factor


def test_all_thirty_provinces_of_the_2023_annex_are_held_and_no_more():
    provinces_2023 = [
        f
        for f in V2.factors.values()
        if f.kind == "grid_electricity" and f.year == 2023 and "附件表3" in f.source
    ]

    assert len(provinces_2023) == 30
    assert V2.factors["grid.chongqing.2023"].value == Decimal("0.5581")
    assert V2.factors["grid.yunnan.2023"].value == Decimal("0.1333")
    with pytest.raises(FactorNotAvailable):
        V2.grid("tibet", 2023, field="grid_region")


@pytest.mark.parametrize(("fuel", "row"), TABLE_C1.items())
def test_each_fuel_has_the_three_defaults_of_table_c1(fuel, row):
    ncv, ncv_unit, carbon, oxidation = row

    defaults = V2.fuel_defaults(fuel, field="fuels.0.fuel_type")

    assert defaults.net_calorific_value.value == Decimal(ncv)
    assert defaults.net_calorific_value.unit == ncv_unit
    assert defaults.carbon_content.value == Decimal(carbon)
    assert defaults.oxidation_rate.value == Decimal(oxidation)
    assert defaults.quantity_unit == ("10^4 Nm3" if fuel == "natural_gas" else "t")
    assert "GB/T 32151.34—2024" in defaults.carbon_content.source


def test_the_fuels_with_defaults_are_exactly_those_of_the_table_read():
    assert set(V2.fuel_types()) == set(TABLE_C1)
    assert packaged(1).fuel_types() == ()


def test_raw_coal_has_no_default_and_is_refused_naming_the_field():
    with pytest.raises(FactorNotAvailable) as refused:
        V2.fuel_defaults("raw_coal", field="fuels.3.fuel_type")

    assert refused.value.field == "fuels.3.fuel_type"


def test_purchased_heat_is_the_guidelines_0_11_tonnes_per_gigajoule():
    heat = V2.heat(field="purchased_heat_gj")

    assert heat.value == Decimal("0.11")
    assert heat.unit == "tCO2/GJ"
    assert heat.kg_per_activity_unit == 110
    assert "发改办气候〔2015〕1722号" in heat.source


HEADER = 'version = 7\npublished = "2026-11-24"\n'
ROW = """
[[factor]]
id = "fuel_oxidation.diesel.2024"
kind = "fuel_oxidation_rate"
region = "national"
year = 2024
value = "0.98"
unit = "ratio"
source = "GB/T 32151.34—2024 table C.1"
read_in = "a copy"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "factors_v7.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_fuel_parameter_row_loads(tmp_path):
    factors = load(write(tmp_path, HEADER + ROW))

    assert factors.factors["fuel_oxidation.diesel.2024"].value == Decimal("0.98")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('unit = "ratio"', 'unit = "tC/GJ"'), "does not measure"),
        (('value = "0.98"', 'value = "98"'), "outside"),
        (('kind = "fuel_oxidation_rate"', 'kind = "fuel_burn_rate"'), "kind"),
    ],
)
def test_a_fuel_parameter_in_the_wrong_unit_or_out_of_range_is_refused(tmp_path, change, message):
    with pytest.raises(FactorDataError, match=message):
        load(write(tmp_path, HEADER + ROW.replace(*change)))


def test_a_fuel_parameter_is_not_an_emission_factor():
    with pytest.raises(AssertionError):
        _ = V2.factors["fuel_ncv.diesel.2024"].kg_per_activity_unit
