"""Properties of the inputs version 2 added: zero gives zero, more of any input never gives less."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from offsets.footprints import (
    ElectricityUse,
    EnterpriseInputs,
    EventInputs,
    FuelCombustion,
    PersonalInputs,
    enterprise,
    event,
    packaged,
    personal,
)

V2 = packaged(2)
amounts = st.decimals(min_value=0, max_value=10**7, places=6, allow_nan=False, allow_infinity=False)
fuel_types = st.sampled_from(V2.fuel_types())


def unit_of(fuel_type: str) -> str:
    return V2.fuel_defaults(fuel_type, field="f").quantity_unit


def test_zero_of_each_new_input_gives_zero():
    assert personal(PersonalInputs(natural_gas_m3=Decimal(0)), V2).offset_kg == 0
    assert enterprise(EnterpriseInputs(purchased_heat_gj=Decimal(0)), V2).offset_kg == 0
    assert event(EventInputs(attendees=1, days=1, purchased_heat_gj=Decimal(0)), V2).offset_kg == 0
    for fuel_type in V2.fuel_types():
        burnt = FuelCombustion(fuel_type, Decimal(0), unit_of(fuel_type), fuel_type=fuel_type)
        assert enterprise(EnterpriseInputs(fuels=(burnt,)), V2).offset_kg == 0


@given(gas=amounts, kwh=amounts, extra=amounts)
def test_household_gas_is_monotone_and_adds_to_electricity(gas, kwh, extra):
    def run(m3: Decimal, k: Decimal):
        return personal(PersonalInputs(electricity_kwh=k, natural_gas_m3=m3), V2)

    base = run(gas, kwh)
    assert base.total_kg <= run(gas + extra, kwh).total_kg
    assert base.total_kg <= run(gas, kwh + extra).total_kg
    assert sum(base.by_category().values()) == base.total_kg
    assert base.offset_kg >= base.total_kg


@given(fuel_type=fuel_types, quantity=amounts, heat=amounts, extra=amounts)
def test_enterprise_is_monotone_in_default_fuels_and_heat(fuel_type, quantity, heat, extra):
    def run(q: Decimal, h: Decimal):
        burnt = FuelCombustion(fuel_type, q, unit_of(fuel_type), fuel_type=fuel_type)
        return enterprise(EnterpriseInputs(fuels=(burnt,), purchased_heat_gj=h), V2)

    base = run(quantity, heat)
    assert base.total_kg <= run(quantity + extra, heat).total_kg
    assert base.total_kg <= run(quantity, heat + extra).total_kg
    assert base.offset_kg >= base.total_kg


@given(heat=amounts, gas=amounts, kwh=amounts, extra=amounts)
def test_event_is_monotone_in_heat_and_default_fuels(heat, gas, kwh, extra):
    def run(h: Decimal, g: Decimal):
        return event(
            EventInputs(
                attendees=50,
                days=1,
                venue_electricity=(ElectricityUse(kwh, "sichuan"),),
                purchased_heat_gj=h,
                fuels=(FuelCombustion("天然气", g, "10^4 Nm3", fuel_type="natural_gas"),),
            ),
            V2,
        )

    base = run(heat, gas)
    assert base.total_kg <= run(heat + extra, gas).total_kg
    assert base.total_kg <= run(heat, gas + extra).total_kg
    assert sum(base.by_category().values()) == base.total_kg
