"""Money is whole fen: a price per tonne becomes a total for some kilograms by rounding up, once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import MAX_AMOUNT_FEN, MoneyError, check_amount_fen, price_fen


def test_a_whole_number_of_tonnes_costs_exactly_its_price() -> None:
    assert price_fen(3_000, 4_500) == 13_500


def test_a_fraction_of_a_fen_is_rounded_up_for_the_buyer_to_pay() -> None:
    # 1 kg at 45.00 yuan per tonne is 4.5 fen; the buyer pays 5.
    assert price_fen(1, 4_500) == 5


@given(st.integers(1, 10**9), st.integers(1, 10**6))
def test_the_total_is_the_smallest_whole_fen_covering_the_exact_price(quantity_kg: int, per_t: int) -> None:
    total = price_fen(quantity_kg, per_t)
    assert (total - 1) * 1_000 < quantity_kg * per_t <= total * 1_000


@pytest.mark.parametrize(
    ("quantity_kg", "per_t", "field"),
    [
        (0, 100, "quantity_kg"),
        (True, 100, "quantity_kg"),
        (1.0, 100, "quantity_kg"),
        (10, 0, "price_fen_per_t"),
        (10, 1.5, "price_fen_per_t"),
    ],
)
def test_prices_of_nothing_or_of_fractions_are_refused(
    quantity_kg: object, per_t: object, field: str
) -> None:
    with pytest.raises(MoneyError) as refused:
        price_fen(quantity_kg, per_t)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_amounts_beyond_the_limit_are_refused() -> None:
    with pytest.raises(MoneyError) as refused:
        check_amount_fen(MAX_AMOUNT_FEN + 1, "amount_fen")
    assert refused.value.field == "amount_fen"
