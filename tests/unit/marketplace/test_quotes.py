"""Quotes without a database: the same deterministic allocation as a reservation, priced line by line, and
the check an accepting order must pass — refused, naming the lot, when stock, listing or price moved."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from marketplace.lots import InsufficientStock
from marketplace.orders import LotHold
from marketplace.quotes import (
    LotNow,
    QuotedLine,
    QuoteNoLongerHonoured,
    check_still_honoured,
    plan_quote,
    price_lines,
)
from marketplace.reservations import Candidate, allocate

POOR_OLD = Candidate("L-1", "2019", True, "513423", 300)
RICH_OLD = Candidate("L-2", "2018", False, "510104", 1_000)
POOR_NEW = Candidate("L-3", "2022", True, "513434", 5_000)
PRICES = {"L-1": 50_000, "L-2": 80_000, "L-3": 33_333}


def test_a_quote_takes_the_lots_a_reservation_would_and_prices_each_line():
    plan = plan_quote([POOR_NEW, RICH_OLD, POOR_OLD], PRICES, 1_000, prefer_poverty_area=True)
    assert plan.lines == (
        QuotedLine("L-1", 300, 50_000, 15_000),
        QuotedLine("L-3", 700, 33_333, 23_334),  # 700 kg × 33.333 fen/kg = 23,333.1 fen, rounded up
    )
    assert plan.total_fen == 38_334
    assert plan.explanation[0].startswith("allocated 1000 kg from the matching lots, poverty-area lots first")


def test_without_the_poverty_preference_the_oldest_vintage_comes_first():
    plan = plan_quote([POOR_NEW, RICH_OLD, POOR_OLD], PRICES, 1_200, prefer_poverty_area=False)
    assert [(line.lot_id, line.quantity_kg) for line in plan.lines] == [("L-2", 1_000), ("L-1", 200)]
    assert plan.total_fen == 80_000 + 10_000


def test_a_quote_for_more_than_is_available_is_refused_naming_the_quantity():
    with pytest.raises(InsufficientStock) as refused:
        plan_quote([POOR_OLD], PRICES, 301, prefer_poverty_area=False)
    assert refused.value.field == "quantity_kg"


def test_each_line_is_rounded_up_on_its_own_as_an_order_prices_it():
    # 1 kg at 33,333 fen per tonne is 33.333 fen: 34 fen, whatever the other lines are.
    lines = price_lines((LotHold("L-3", 1), LotHold("L-1", 1)), PRICES)
    assert [line.price_fen for line in lines] == [34, 50]


@given(
    available=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6),
    prices=st.lists(st.integers(min_value=1, max_value=10**7), min_size=6, max_size=6),
    prefer=st.booleans(),
    data=st.data(),
)
def test_a_quote_is_the_reservations_allocation_exactly_priced(available, prices, prefer, data):
    candidates = [
        Candidate(f"L-{index}", str(2015 + index % 3), index % 2 == 0, "513423", kg)
        for index, kg in enumerate(available)
    ]
    total_available = sum(available)
    assume(total_available > 0)
    quantity_kg = data.draw(st.integers(min_value=1, max_value=total_available))
    price_by_lot = {candidate.id: prices[index] for index, candidate in enumerate(candidates)}
    plan = plan_quote(candidates, price_by_lot, quantity_kg, prefer_poverty_area=prefer)
    reservation = allocate(candidates, quantity_kg, prefer_poverty_area=prefer)
    assert [(line.lot_id, line.quantity_kg) for line in plan.lines] == [
        (hold.lot_id, hold.quantity_kg) for hold in reservation.holds
    ]
    for line in plan.lines:
        exact_fen_times_1000 = line.quantity_kg * line.price_fen_per_t
        assert (line.price_fen - 1) * 1000 < exact_fen_times_1000 <= line.price_fen * 1000
    assert plan.total_fen == sum(line.price_fen for line in plan.lines)


QUOTED = (QuotedLine("L-1", 300, 50_000, 15_000), QuotedLine("L-3", 700, 33_333, 23_334))


def test_a_quote_whose_lots_are_unchanged_is_honoured():
    check_still_honoured(QUOTED, {"L-1": LotNow(True, 50_000, 300), "L-3": LotNow(True, 33_333, 9_999)})


@pytest.mark.parametrize(
    ("now", "said"),
    [
        ({"L-1": LotNow(True, 50_000, 299), "L-3": LotNow(True, 33_333, 700)}, "L-1 has 299 kg available"),
        ({"L-1": LotNow(True, 50_000, 300), "L-3": LotNow(True, 33_000, 700)}, "L-3 now costs 33000"),
        ({"L-1": LotNow(True, 49_999, 300), "L-3": LotNow(True, 33_333, 700)}, "L-1 now costs 49999"),
        ({"L-1": LotNow(False, 50_000, 300), "L-3": LotNow(True, 33_333, 700)}, "L-1 is no longer on sale"),
        ({"L-1": LotNow(True, 50_000, 300)}, "L-3 is no longer on sale"),
    ],
)
def test_a_quote_is_refused_naming_the_lot_when_stock_listing_or_price_moved(now, said):
    with pytest.raises(QuoteNoLongerHonoured) as refused:
        check_still_honoured(QUOTED, now)
    assert said in refused.value.message
    assert refused.value.field == "quote_id"
    assert refused.value.status == 409


@pytest.mark.parametrize("empty_lots", [10, 13])
def test_an_explanation_names_ten_lots_passed_over_and_counts_the_rest(empty_lots: int):
    empty = [Candidate(f"E-{n:02}", "2015", False, "510104", 0) for n in range(empty_lots)]
    allocation = allocate([POOR_NEW, *empty], 100, prefer_poverty_area=False)
    assert allocation.holds == (LotHold("L-3", 100),)
    passed = [line for line in allocation.explanation if "passed over" in line]
    named = [f"lot E-{n:02} (vintage 2015, county 510104): passed over, nothing available" for n in range(10)]
    counted = [f"and {empty_lots - 10} more lots passed over, nothing available"] if empty_lots > 10 else []
    assert passed == named + counted
    assert allocation.explanation[-1] == (
        counted[0]
        if counted
        else "lot L-3 (vintage 2022, county 513434, poverty area): 100 kg of 5000 kg available"
    )


def test_a_lot_with_a_single_kilogram_available_gives_it():
    one = Candidate("L-9", "2010", False, "510104", 1)
    allocation = allocate([POOR_NEW, one], 101, prefer_poverty_area=False)
    assert allocation.holds == (LotHold("L-9", 1), LotHold("L-3", 100))
    assert "lot L-9 (vintage 2010, county 510104): 1 kg of 1 kg available" in allocation.explanation
