"""The calculators against hand-worked examples, with the numbers worked from the cited factors here.

These examples use factor set version 1, which stays packaged so that a result that recorded it is
explained with the same numbers; the version 2 examples are in test_footprint_v2_calculators.py.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

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

FACTORS = packaged(1)


def test_a_sichuan_household_and_a_chengdu_beijing_trip_by_rail():
    # 3 000 kWh x 0.1404 kgCO2/kWh (Sichuan 2022) = 421.2 kg; 1 800 km x 30.48 g = 54.864 kg.
    result = personal(
        PersonalInputs(electricity_kwh=Decimal(3000), high_speed_rail_km=Decimal(1800)), FACTORS
    )

    assert result.total_kg == Fraction("421.2") + Fraction("54.864")
    assert result.offset_kg == 477
    assert result.factor_set_version == FACTORS.version
    assert result.by_category()["household_electricity"] == Fraction("421.2")


def test_the_national_grid_of_2021_can_be_chosen_explicitly():
    # 1 000 kWh x 0.5568 kgCO2/kWh (national 2021) = 556.8 kg.
    result = personal(
        PersonalInputs(electricity_kwh=Decimal(1000), grid_region="national", grid_year=2021), FACTORS
    )

    assert result.total_kg == Fraction("556.8")
    assert result.offset_kg == 557
    assert result.lines[0].factor is not None
    assert result.lines[0].factor["id"] == "grid.national.2021"


def test_an_exact_whole_kilogram_is_not_rounded_further_up():
    # 2 000 passenger-km x 95.3 g = 190.6 kg -> 191; 10 000 km x 95.3 g = 953 kg exactly -> 953.
    assert personal(PersonalInputs(flight_km=Decimal(2000)), FACTORS).offset_kg == 191
    assert personal(PersonalInputs(flight_km=Decimal(10000)), FACTORS).offset_kg == 953


@pytest.mark.parametrize("field", ["natural_gas_m3", "car_km", "car_fuel_l"])
def test_a_personal_input_without_a_cited_factor_in_version_1_is_refused(field):
    with pytest.raises(FactorNotAvailable) as refused:
        personal(PersonalInputs(**{field: Decimal(1)}), FACTORS)

    assert refused.value.field == field


def test_scope_1_follows_the_fuel_formula_with_the_callers_parameters():
    # 2 t of a fuel with NCV 20 GJ/t, 0.03 tC/GJ, oxidation 0.9: 2 x 20 x 0.03 x 0.9 x 44/12 = 3.96 t CO2.
    fuel = FuelCombustion("烟煤", Decimal(2), "t", Decimal(20), Decimal("0.03"), Decimal("0.9"))
    use = ElectricityUse(Decimal(50000), "southwest", 2023)

    result = enterprise(EnterpriseInputs(fuels=(fuel,), electricity=(use,)), FACTORS)

    scope1 = Fraction(2) * 20 * Fraction("0.03") * Fraction("0.9") * Fraction(44, 12) * 1000
    assert scope1 == 3960
    assert result.by_category() == {
        "scope1_fuel_combustion": scope1,
        "scope2_purchased_electricity": Fraction(50000) * Fraction("0.2472"),
    }
    assert result.offset_kg == 3960 + 12360


def test_a_non_terminating_fuel_result_rounds_the_offset_up():
    # 1 t x 1 GJ/t x 0.001 tC/GJ x 1 x 44/12 = 11/3 kg = 3.666... kg -> 4 kg to offset.
    fuel = FuelCombustion("x", Decimal(1), "t", Decimal(1), Decimal("0.001"), Decimal(1))

    result = enterprise(EnterpriseInputs(fuels=(fuel,)), FACTORS)

    assert result.total_kg == Fraction(11, 3)
    assert result.offset_kg == 4
    assert result.as_dict()["total_kg"] == "3.666667"


def test_the_compliance_tonnage_is_taken_as_given_and_not_mixed_with_activities():
    assert enterprise(EnterpriseInputs(compliance_tonnage_t=Decimal("0.0004")), FACTORS).offset_kg == 1
    entered = enterprise(EnterpriseInputs(compliance_tonnage_t=Decimal("12.5")), FACTORS).as_dict()
    assert (entered["kind"], entered["factor_set_version"], entered["total_kg"]) == ("enterprise", 1, "12500")
    [line] = entered["lines"]
    assert line == {
        "category": "entered_obligation",
        "label": "compliance tonnage entered by the buyer",
        "quantity": "12.5",
        "quantity_unit": "t CO2e",
        "emissions_kg": "12500",
        "factor": None,
    }

    with pytest.raises(FactorNotAvailable) as refused:
        enterprise(
            EnterpriseInputs(
                compliance_tonnage_t=Decimal(1), electricity=(ElectricityUse(Decimal(1), "national"),)
            ),
            FACTORS,
        )
    assert refused.value.field == "compliance_tonnage_t"


def test_purchased_heat_is_refused_by_version_1_which_cites_no_heat_factor():
    with pytest.raises(FactorNotAvailable) as refused:
        enterprise(EnterpriseInputs(purchased_heat_gj=Decimal(1)), FACTORS)

    assert refused.value.field == "purchased_heat_gj"


def test_an_event_in_the_guideline_categories():
    # Venue 20 000 kWh x 0.1404 = 2 808 kg; 500 000 p-km rail x 30.48 g = 15 240 kg;
    # 200 000 p-km air x 95.3 g = 19 060 kg; measured catering/accommodation 4 000 kg, waste 120.5 kg.
    inputs = EventInputs(
        attendees=1000,
        days=3,
        venue_electricity=(ElectricityUse(Decimal(20000), "sichuan"),),
        rail_passenger_km=Decimal(500000),
        flight_passenger_km=Decimal(200000),
        measured_kg={"accommodation_catering": Decimal(4000), "waste": Decimal("120.5")},
    )

    result = event(inputs, FACTORS)

    assert result.by_category() == {
        "purchased_electricity_heat": Fraction(2808),
        "transport": Fraction(15240 + 19060),
        "accommodation_catering": Fraction(4000),
        "waste": Fraction("120.5"),
    }
    assert result.offset_kg == 2808 + 15240 + 19060 + 4000 + 121


def test_an_unknown_venue_grid_names_the_item():
    inputs = EventInputs(attendees=1, days=1, venue_electricity=(ElectricityUse(Decimal(1), "mars"),))

    with pytest.raises(FactorNotAvailable) as refused:
        event(inputs, FACTORS)

    assert refused.value.field == "venue_electricity.0.grid_region"
