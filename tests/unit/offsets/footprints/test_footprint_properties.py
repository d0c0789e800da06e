"""Properties of the calculators: zero activity gives zero, more of any activity never gives less."""

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

FACTORS = packaged()
amounts = st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False, allow_infinity=False)
positive = st.decimals(min_value=Decimal("0.000001"), max_value=1, places=6)
regions = st.sampled_from(FACTORS.grid_regions())


def test_zero_activity_gives_zero():
    assert personal(PersonalInputs(), FACTORS).offset_kg == 0
    assert enterprise(EnterpriseInputs(), FACTORS).offset_kg == 0
    assert event(EventInputs(attendees=1, days=1), FACTORS).offset_kg == 0


@given(kwh=amounts, rail=amounts, flight=amounts, extra=amounts, which=st.integers(0, 2), region=regions)
def test_personal_is_monotone_in_each_input(kwh, rail, flight, extra, which, region):
    base = [kwh, rail, flight]
    more = list(base)
    more[which] += extra

    def run(values):
        inputs = PersonalInputs(
            electricity_kwh=values[0], grid_region=region, high_speed_rail_km=values[1], flight_km=values[2]
        )
        return personal(inputs, FACTORS)

    low, high = run(base), run(more)
    assert low.total_kg <= high.total_kg
    assert low.offset_kg <= high.offset_kg
    assert low.offset_kg >= low.total_kg


@given(quantity=amounts, extra=amounts, ncv=positive, carbon=positive, oxidation=positive, kwh=amounts)
def test_enterprise_is_monotone_in_fuel_and_electricity(quantity, extra, ncv, carbon, oxidation, kwh):
    def run(q, e):
        fuel = FuelCombustion("f", q, "t", ncv, carbon, oxidation)
        return enterprise(
            EnterpriseInputs(fuels=(fuel,), electricity=(ElectricityUse(e, "national"),)), FACTORS
        )

    base = run(quantity, kwh)
    assert base.total_kg <= run(quantity + extra, kwh).total_kg
    assert base.total_kg <= run(quantity, kwh + extra).total_kg
    assert base.offset_kg >= base.total_kg


@given(
    kwh=amounts,
    rail=amounts,
    measured=st.dictionaries(
        st.sampled_from(
            ("fossil_fuel_combustion", "transport", "accommodation_catering", "materials", "waste")
        ),
        amounts,
    ),
    extra=amounts,
)
def test_event_is_monotone_and_sums_its_categories(kwh, rail, measured, extra):
    def run(k, r, m):
        return event(
            EventInputs(
                attendees=10,
                days=1,
                venue_electricity=(ElectricityUse(k, "sichuan"),),
                rail_passenger_km=r,
                measured_kg=m,
            ),
            FACTORS,
        )

    base = run(kwh, rail, measured)
    assert sum(base.by_category().values()) == base.total_kg
    assert base.total_kg <= run(kwh + extra, rail, measured).total_kg
    assert base.total_kg <= run(kwh, rail + extra, measured).total_kg
    bigger = {key: value + extra for key, value in measured.items()}
    assert base.total_kg <= run(kwh, rail, bigger).total_kg
