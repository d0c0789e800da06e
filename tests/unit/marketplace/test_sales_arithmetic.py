"""Sales arithmetic without a database: revenue split over holds, the farmer share owed (rounded up, in the
farmers' favour), and totals per county and zone that are exactly the sums of their lots."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import price_fen
from marketplace.sales import (
    HeldLine,
    LotFacts,
    farmer_share_owed_fen,
    percent_of,
    sale_lines_of,
    split_revenue,
    summarise_counties,
    summarise_lots,
    summarise_poverty,
)
from offsets.regions import ZONE_KEYS


def lot(lot_id: str, county: str = "513423", zone: str = "川西南", poverty: bool = True, share: str = "30"):
    return LotFacts(lot_id, 1, county, zone, poverty, Decimal(share), 50_000, 10_000, "listed")


def test_each_hold_earns_its_own_price_when_the_order_was_priced_from_the_same_lots():
    held = [
        HeldLine("O-1", "L-1", 300, price_fen(300, 50_000)),
        HeldLine("O-1", "L-3", 700, price_fen(700, 33_333)),
    ]
    lines = sale_lines_of({"O-1": 38_334}, held)
    assert [(line.lot_id, line.revenue_fen) for line in lines] == [("L-1", 15_000), ("L-3", 23_334)]


def test_a_price_that_differs_from_the_holds_is_split_by_largest_remainder_and_sums_exactly():
    assert split_revenue(10, [1, 1, 1]) == [4, 3, 3]
    assert split_revenue(100, [50, 50]) == [50, 50]
    assert split_revenue(0, [5, 7]) == [0, 0]
    # 5, 3⅓ and 1⅔: the left-over fen goes to the largest fraction, the last part, not the first.
    assert split_revenue(10, [3, 2, 1]) == [5, 3, 2]
    # 2⅔, 2⅔, 2⅔ and 2: the two fen left over go to the earlier of the tied fractions.
    assert split_revenue(10, [4, 4, 4, 3]) == [3, 3, 2, 2]


def test_the_farmer_share_is_rounded_up_to_the_whole_fen():
    assert farmer_share_owed_fen(600, Decimal("30")) == 180
    assert farmer_share_owed_fen(601, Decimal("32.5")) == 196  # 195.325 fen, rounded up
    assert farmer_share_owed_fen(1, Decimal("0.01")) == 1
    assert farmer_share_owed_fen(0, Decimal("100")) == 0
    assert farmer_share_owed_fen(12_345, Decimal("0")) == 0
    assert farmer_share_owed_fen(12_345, Decimal("100")) == 12_345


def test_percentages_have_two_decimals_and_nothing_sold_is_zero_percent():
    assert percent_of(1, 3) == "33.33"
    assert percent_of(2, 3) == "66.67"
    assert percent_of(0, 0) == "0.00"
    assert percent_of(5, 5) == "100.00"


def test_counties_and_the_poverty_summary_add_up_their_lots():
    lots = [lot("L-1"), lot("L-2", "510104", "川中", poverty=False, share="10"), lot("L-3", share="2.5")]
    held = [
        HeldLine("O-1", "L-1", 12, 600),
        HeldLine("O-2", "L-1", 3, 150),
        HeldLine("O-2", "L-2", 5, 400),
        HeldLine("O-3", "L-3", 1_000, 50_000),
    ]
    per_lot = summarise_lots(lots, sale_lines_of({"O-1": 600, "O-2": 550, "O-3": 50_000}, held), {"L-1": 100})
    assert [(item.lot.lot_id, item.orders, item.sold_kg, item.revenue_fen) for item in per_lot] == [
        ("L-1", 2, 15, 750),
        ("L-2", 1, 5, 400),
        ("L-3", 1, 1_000, 50_000),
    ]
    assert [item.farmer_share_owed_fen for item in per_lot] == [225, 40, 1_250]
    assert per_lot[0].farmer_share_outstanding_fen == 125
    [jinjiang, yanyuan] = summarise_counties(per_lot)
    assert (yanyuan.county_code, yanyuan.lots, yanyuan.sold_kg, yanyuan.revenue_fen) == (
        "513423",
        2,
        1_015,
        50_750,
    )
    assert (jinjiang.farmer_share_owed_fen, jinjiang.poverty_county) == (40, False)
    assert (yanyuan.zone, jinjiang.zone) == ("川西南", "川中")
    summary = summarise_poverty(per_lot)
    assert (summary.total.sold_kg, summary.total.poverty_area_kg) == (1_020, 1_015)
    assert summary.total.poverty_area_kg_percent == "99.51"
    assert summary.total.poverty_area_revenue_percent == "99.22"  # 50,750 of 51,150 fen
    assert list(summary.by_zone) == list(ZONE_KEYS)
    assert summary.by_zone["川中"].poverty_area_kg == 0
    assert summary.by_zone["川东北"].sold_kg == 0


shares = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)


@given(st.integers(min_value=0, max_value=10**15), shares)
def test_owed_is_never_negative_never_more_than_revenue_and_never_less_than_the_exact_share(revenue, share):
    owed = farmer_share_owed_fen(revenue, share)
    assert 0 <= owed <= revenue
    assert Decimal(owed) >= Decimal(revenue) * share / 100
    assert Decimal(owed) - 1 < Decimal(revenue) * share / 100


@given(st.integers(min_value=0, max_value=10**12), shares)
def test_more_revenue_never_owes_less(revenue, share):
    assert farmer_share_owed_fen(revenue + 1, share) >= farmer_share_owed_fen(revenue, share)


@given(
    st.integers(min_value=0, max_value=10**12),
    st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=8),
)
def test_a_split_sums_to_the_price_and_no_part_is_off_by_a_fen_or_more(total, weights):
    parts = split_revenue(total, weights)
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / sum(weights)
        assert abs(Decimal(part) - exact) < 1
    # Largest remainder: a part rounded up never has a smaller fraction than one rounded down, nor an
    # equal one later in the list.
    fractions = [Fraction(total * weight, sum(weights)) % 1 for weight in weights]
    up = [part > total * weight // sum(weights) for part, weight in zip(parts, weights, strict=True)]
    for i, j in itertools.permutations(range(len(parts)), 2):
        if up[i] and not up[j]:
            assert (fractions[i], -i) > (fractions[j], -j)


lots_strategy = st.lists(
    st.tuples(
        st.sampled_from(["513423", "510104", "513434", "511502"]),
        st.sampled_from(ZONE_KEYS),
        st.booleans(),
        shares,
    ),
    min_size=1,
    max_size=6,
)
orders_strategy = st.lists(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=5), st.integers(min_value=1, max_value=10**6)),
        min_size=1,
        max_size=3,
    ),
    max_size=10,
)


@given(lots_strategy, orders_strategy, st.data())
def test_totals_equal_the_sum_of_their_parts_and_paid_never_exceeds_owed(lot_specs, order_specs, data):
    lots = [
        LotFacts(f"L-{i}", 1, county, zone, poverty, share, 50_000, 10**9, "listed")
        for i, (county, zone, poverty, share) in enumerate(lot_specs)
    ]
    held, prices = [], {}
    for number, holds in enumerate(order_specs):
        order_id = f"O-{number}"
        by_lot = {}
        for index, kg in holds:
            by_lot[lots[index % len(lots)].lot_id] = by_lot.get(lots[index % len(lots)].lot_id, 0) + kg
        for lot_id, kg in by_lot.items():
            held.append(HeldLine(order_id, lot_id, kg, price_fen(kg, 50_000)))
        prices[order_id] = sum(line.weight_fen for line in held if line.order_id == order_id)
    without_payouts = summarise_lots(lots, sale_lines_of(prices, held), {})
    # Payouts as the registry may record them: any amount up to what is owed.
    paid = {
        item.lot.lot_id: data.draw(st.integers(min_value=0, max_value=item.farmer_share_owed_fen))
        for item in without_payouts
    }
    per_lot = summarise_lots(lots, sale_lines_of(prices, held), paid)
    assert sum(item.revenue_fen for item in per_lot) == sum(prices.values())
    assert sum(item.sold_kg for item in per_lot) == sum(line.quantity_kg for line in held)
    for item in per_lot:
        assert item.farmer_share_owed_fen >= 0
        assert 0 <= item.farmer_share_paid_fen <= item.farmer_share_owed_fen
        assert item.farmer_share_outstanding_fen >= 0
    counties = summarise_counties(per_lot)
    for name in ("sold_kg", "revenue_fen", "farmer_share_owed_fen", "farmer_share_paid_fen"):
        assert sum(getattr(county, name) for county in counties) == sum(
            getattr(item, name) for item in per_lot
        )
    summary = summarise_poverty(per_lot)
    assert summary.total.sold_kg == sum(zone.sold_kg for zone in summary.by_zone.values())
    assert summary.total.revenue_fen == sum(zone.revenue_fen for zone in summary.by_zone.values())
    assert summary.total.poverty_area_kg == sum(item.sold_kg for item in per_lot if item.lot.poverty_county)
    assert summary.total.poverty_area_kg <= summary.total.sold_kg
    assert summary.farmer_share_owed_fen == sum(item.farmer_share_owed_fen for item in per_lot)
    assert summary.farmer_share_paid_fen == sum(item.farmer_share_paid_fen for item in per_lot)
    assert summary.farmer_share_paid_fen <= summary.farmer_share_owed_fen


@pytest.mark.parametrize("share", ["-1", "100.01", "12.345"])
def test_terms_outside_0_to_100_with_two_decimals_are_a_programming_error(share):
    with pytest.raises(AssertionError):
        farmer_share_owed_fen(100, Decimal(share))
