"""The calculators with factor set version 2, against examples worked by hand from its factor rows.

Each example multiplies the rows' printed values with ``Decimal`` (exact for these short decimals) and
divides by 12 only at the end, as the formula AD × NCV × CC × OF × 44/12 does.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest

from offsets.errors import InvalidInput
from offsets.footprints import (
    ElectricityUse,
    EnterpriseInputs,
    EventInputs,
    FactorNotAvailable,
    FuelCombustion,
    PersonalInputs,
    enterprise,
    event,
    packaged,
    personal,
)

V2 = packaged(2)


def row(factor_id: str) -> Decimal:
    return V2.factors[factor_id].value


def fuel_kg(quantity: Decimal, fuel: str) -> Fraction:
    """Hand-worked kg CO2: quantity × NCV × CC × OF × 44 × 1000, then / 12."""
    numerator = (
        quantity
        * row(f"fuel_ncv.{fuel}.2024")
        * row(f"fuel_carbon.{fuel}.2024")
        * row(f"fuel_oxidation.{fuel}.2024")
        * 44
        * 1000
    )
    return Fraction(numerator) / 12


def test_a_sichuan_household_is_counted_with_the_2023_grid_factor_by_default():
    # 3 000 kWh x 0.1564 kgCO2/kWh = 469.2 kg.
    result = personal(PersonalInputs(electricity_kwh=Decimal(3000)), V2)

    assert result.total_kg == Fraction("469.2")
    assert result.offset_kg == 470
    assert result.factor_set_version == 2
    assert result.lines[0].factor is not None
    assert result.lines[0].factor["id"] == "grid.sichuan.2023"


def test_household_natural_gas_uses_the_natural_gas_defaults():
    # 100 m3 = 0.01 x 10^4 Nm3: 0.01 x 389.31 x 0.0153 x 0.99 x 44 x 1000 / 12 = 2594.6265708 / 12 kg.
    result = personal(PersonalInputs(natural_gas_m3=Decimal(100)), V2)

    expected = (
        Fraction(Decimal("0.01") * Decimal("389.31") * Decimal("0.0153") * Decimal("0.99") * 44000) / 12
    )
    assert expected == Fraction(Decimal("2594.6265708")) / 12
    assert result.by_category()["household_natural_gas"] == expected
    assert result.offset_kg == 217  # 216.2188809 kg, rounded up
    gas = next(line for line in result.lines if line.category == "household_natural_gas")
    assert (gas.quantity, gas.quantity_unit) == (Decimal(100), "m3")
    assert gas.factor is not None
    assert gas.factor["net_calorific_value_gj_per_unit"]["id"] == "fuel_ncv.natural_gas.2024"


@pytest.mark.parametrize("fuel", ["gasoline", "diesel", "liquefied_petroleum_gas", "anthracite", "lignite"])
def test_a_tonne_of_each_fuel_with_defaults_follows_the_formula(fuel):
    burnt = FuelCombustion(fuel, Decimal(3), "t", fuel_type=fuel)

    result = enterprise(EnterpriseInputs(fuels=(burnt,)), V2)

    assert result.by_category() == {"scope1_fuel_combustion": fuel_kg(Decimal(3), fuel)}
    assert result.offset_kg == math.ceil(fuel_kg(Decimal(3), fuel))


def test_ten_tonnes_of_diesel_by_hand():
    # 10 x 42.652 x 0.0202 x 0.98 x 44 x 1000 / 12 = 371509.15648 / 12 = 30959.0963733... kg.
    result = enterprise(
        EnterpriseInputs(fuels=(FuelCombustion("0#柴油", Decimal(10), "t", fuel_type="diesel"),)), V2
    )

    assert result.total_kg == Fraction(Decimal("371509.15648")) / 12
    assert result.offset_kg == 30960


def test_a_measured_parameter_takes_precedence_over_its_default():
    # Measured oxidation 1 instead of the default 0.98: 2 x 43.070 x 0.0189 x 1 x 44 x 1000 / 12 kg.
    burnt = FuelCombustion("93#汽油", Decimal(2), "t", oxidation_rate=Decimal(1), fuel_type="gasoline")

    result = enterprise(EnterpriseInputs(fuels=(burnt,)), V2)

    assert result.total_kg == Fraction(Decimal(2) * Decimal("43.070") * Decimal("0.0189") * 44000) / 12
    factor = result.lines[0].factor
    assert factor is not None
    assert factor["oxidation_rate"]["source"] == "measured"
    assert factor["carbon_content_tc_per_gj"]["id"] == "fuel_carbon.gasoline.2024"


def test_a_default_calorific_value_in_the_wrong_unit_is_refused_naming_the_unit():
    burnt = FuelCombustion("天然气", Decimal(5), "t", fuel_type="natural_gas")

    with pytest.raises(InvalidInput) as refused:
        enterprise(
            EnterpriseInputs(fuels=(FuelCombustion("煤", Decimal(1), "t", *[Decimal(1)] * 3), burnt)), V2
        )

    assert refused.value.field == "fuels.1.quantity_unit"


def test_a_missing_parameter_without_a_fuel_type_is_refused_naming_it():
    burnt = FuelCombustion("生物质", Decimal(1), "t", Decimal(15), None, Decimal("0.9"))

    with pytest.raises(FactorNotAvailable) as refused:
        enterprise(EnterpriseInputs(fuels=(burnt,)), V2)

    assert refused.value.field == "fuels.0.carbon_content_tc_per_gj"


def test_purchased_heat_is_scope_2_at_0_11_tonnes_per_gigajoule():
    # 250 GJ x 0.11 tCO2/GJ x 1000 = 27 500 kg; plus 1 000 kWh x 0.5306 (national 2023) = 530.6 kg.
    result = enterprise(
        EnterpriseInputs(
            purchased_heat_gj=Decimal(250), electricity=(ElectricityUse(Decimal(1000), "national", 2023),)
        ),
        V2,
    )

    assert result.by_category() == {
        "scope2_purchased_heat": Decimal(250) * row("heat.national.2015") * 1000,
        "scope2_purchased_electricity": Fraction("530.6"),
    }
    assert result.offset_kg == 27500 + 531


def test_an_event_counts_heat_with_electricity_and_fuels_with_defaults():
    # Venue 20 000 kWh x 0.1564 = 3 128 kg and 40 GJ heat x 110 kg = 4 400 kg (purchased electricity and
    # heat); 0.5 x 10^4 Nm3 natural gas in the kitchens; 100 000 rail passenger-km x 30.48 g = 3 048 kg.
    inputs = EventInputs(
        attendees=2000,
        days=2,
        venue_electricity=(ElectricityUse(Decimal(20000), "sichuan"),),
        purchased_heat_gj=Decimal(40),
        fuels=(FuelCombustion("天然气", Decimal("0.5"), "10^4 Nm3", fuel_type="natural_gas"),),
        rail_passenger_km=Decimal(100000),
    )

    result = event(inputs, V2)

    assert result.by_category() == {
        "fossil_fuel_combustion": fuel_kg(Decimal("0.5"), "natural_gas"),
        "purchased_electricity_heat": Fraction(3128 + 4400),
        "transport": Fraction(3048),
    }


@pytest.mark.parametrize(
    ("inputs", "field", "what"),
    [
        (PersonalInputs(coach_km=Decimal(10)), "coach_km", "coach travel per passenger-km"),
        (
            PersonalInputs(flight_km=Decimal(10), flight_cabin_class="business"),
            "flight_cabin_class",
            "flights by cabin class",
        ),
        (PersonalInputs(car_km=Decimal(10)), "car_km", "car travel per km"),
        (PersonalInputs(car_fuel_l=Decimal(10)), "car_fuel_l", "car fuel per litre (no cited fuel density)"),
    ],
)
def test_personal_inputs_still_without_a_cited_factor_are_refused(inputs, field, what):
    with pytest.raises(FactorNotAvailable) as refused:
        personal(inputs, V2)

    assert refused.value.field == field
    assert (
        refused.value.message
        == f"no official factor for {what} could be cited, so this input is not accepted"
    )


def test_event_coach_travel_is_refused_for_want_of_a_cited_factor():
    with pytest.raises(FactorNotAvailable) as refused:
        event(EventInputs(attendees=1, days=1, coach_passenger_km=Decimal(1)), V2)

    assert refused.value.field == "coach_passenger_km"


def test_household_gas_is_refused_by_version_1_naming_the_persons_field():
    with pytest.raises(FactorNotAvailable) as refused:
        personal(PersonalInputs(natural_gas_m3=Decimal(1)), packaged(1))

    assert refused.value.field == "natural_gas_m3"
