"""Money in the marketplace: integer fen (分) of CNY, and the one place a price per tonne becomes a total.

No float ever touches money or quantity (DESIGN.md "Words"). A lot is priced in fen per tonne and sold by
the kilogram, so a total may fall between two fen; it is rounded up, because the buyer is paying for an
offset they must receive in full (CONVENTIONS.md §3: "up for an offset someone must buy").
"""

from __future__ import annotations

from ledger import limits
from marketplace.errors import MarketplaceError

KG_PER_T = 1_000
MAX_AMOUNT_FEN = 10**15
"""A limit on any single amount: ten trillion yuan, far beyond any order and exact in RFC 8785 JSON."""


class MoneyError(MarketplaceError):
    """An amount or price that is not a whole, positive number of fen within the limit."""

    code = "invalid-order"


def check_amount_fen(value: object, field: str = "amount_fen") -> int:
    """A positive whole number of fen within :data:`MAX_AMOUNT_FEN`, or :class:`MoneyError`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoneyError("must be a whole number of fen", field=field)
    if value <= 0:
        raise MoneyError("must be at least 1 fen", field=field)
    if value > MAX_AMOUNT_FEN:
        raise MoneyError(f"must not exceed {MAX_AMOUNT_FEN} fen", field=field)
    return value


def price_fen(quantity_kg: int, price_fen_per_t: int) -> int:
    """What ``quantity_kg`` costs at ``price_fen_per_t``, in whole fen, rounded up."""
    if isinstance(quantity_kg, bool) or not isinstance(quantity_kg, int) or quantity_kg <= 0:
        raise MoneyError("must be a whole, positive number of kilograms", field="quantity_kg")
    if quantity_kg > limits.MAX_QUANTITY_KG:
        raise MoneyError(f"must not exceed {limits.MAX_QUANTITY_KG} kg", field="quantity_kg")
    check_amount_fen(price_fen_per_t, "price_fen_per_t")
    total = -(-quantity_kg * price_fen_per_t // KG_PER_T)  # ceiling division, in integers only
    assert total >= 1
    assert (total - 1) * KG_PER_T < quantity_kg * price_fen_per_t <= total * KG_PER_T
    return check_amount_fen(total, "price_fen")
