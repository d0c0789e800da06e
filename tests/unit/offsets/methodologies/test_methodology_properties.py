"""Invariants of the tree stock-change calculator, over many generated inputs (hypothesis).

* more end volume never gives fewer removals (monotone), and strictly more when the change is visible;
* no change in the stock, no baseline and no leakage: zero net removals;
* the kilograms are the exact value truncated towards zero: never more than what was removed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from methodology_support import (
    MEASURED,
    WIDE,
    kg_from_twelfths,
    product,
    tree_inputs,
    tree_parameters,
    tree_stratum,
)

from offsets.methodologies import get


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=places)


def text(value: Decimal) -> str:
    return format(value, "f")


parameters = st.fixed_dictionaries(
    {
        "svd": decimals("0.2", "0.9", 3),
        "bef": decimals("1", "3", 3),
        "r": decimals("0", "1", 3),
        "cf": decimals("0.4", "0.55", 3),
    }
)
volumes = decimals("0", "2000", 2)
areas = decimals("0.01", "10000000", 2)
uncertainties = decimals("0", "100", 2)


def inputs_for(
    area: Decimal, start: Decimal, end: Decimal, p: dict[str, Decimal], u: Decimal
) -> dict[str, Any]:
    stratum = tree_stratum(
        area_ha=text(area),
        volume_start_m3_per_ha=text(start),
        volume_end_m3_per_ha=text(end),
        parameters=tree_parameters(svd=text(p["svd"]), bef=text(p["bef"]), r=text(p["r"]), cf=text(p["cf"])),
    )
    uncertainty = {"relative_percent": text(u), "confidence_level_percent": "90", "source": MEASURED}
    return tree_inputs(stratum, uncertainty=uncertainty)


@settings(max_examples=150, deadline=None)
@given(area=areas, start=volumes, ends=st.tuples(volumes, volumes), p=parameters, u=uncertainties)
def test_more_end_volume_never_gives_fewer_removals(area, start, ends, p, u):
    low, high = sorted(ends)
    methodology = get("AR-CM-001-V01")
    fewer = methodology.calculate(inputs_for(area, start, low, p, u))
    more = methodology.calculate(inputs_for(area, start, high, p, u))
    assert more.net_removals_t >= fewer.net_removals_t
    assert more.net_removals_kg() >= fewer.net_removals_kg()
    if high - low >= 1 and u <= 10:  # ≥ 1 m3 on ≥ 0.01 ha is well over a gram of CO2e
        assert more.net_removals_t > fewer.net_removals_t


@settings(max_examples=100, deadline=None)
@given(area=areas, volume=volumes, p=parameters, u=uncertainties)
def test_no_change_in_stock_is_zero_removals(area, volume, p, u):
    calculation = get("AR-CM-001-V01").calculate(inputs_for(area, volume, volume, p, u))
    assert calculation.net_removals_t == 0
    assert calculation.net_removals_kg() == 0


@settings(max_examples=150, deadline=None)
@given(area=areas, start=volumes, end=volumes, p=parameters)
def test_the_kilograms_are_the_exact_value_truncated_towards_zero(area, start, end, p):
    calculation = get("AR-CM-001-V01").calculate(inputs_for(area, start, end, p, Decimal(0)))
    exact_times_12 = product(
        area, WIDE.subtract(end, start), p["svd"], p["bef"], 1 + p["r"], p["cf"], Decimal(44)
    )
    kg = calculation.net_removals_kg()
    assert kg == kg_from_twelfths(exact_times_12)
    # |kg| <= |exact| < |kg| + 1, in twelfths of a kilogram
    assert abs(kg) * 12 <= abs(exact_times_12) * 1000 < (abs(kg) + 1) * 12


@settings(max_examples=100, deadline=None)
@given(area=areas, start=volumes, end=volumes, p=parameters, u=uncertainties)
def test_the_deductions_never_raise_the_net_above_the_project_change(area, start, end, p, u):
    calculation = get("AR-CM-001-V01").calculate(inputs_for(area, start, end, p, u))
    terms = {t.key: t for t in calculation.terms}
    assert terms["uncertainty_deduction"].value >= 0
    assert calculation.net_removals_t <= terms["project_stock_change"].value + Decimal("0.000001")
