"""The fixed wordings of what an order records about itself, and reading a recorded line back.

An order keeps its allocation's explanation and each event's note as English text: the API returns them
as they were written, and the audit trail never changes. The registry's pages show them in the reader's
language, so every line the marketplace writes comes from one :class:`Wording` here, and
:func:`read_note` recognises a stored line by the same template that wrote it and gives back its values.
A line no wording matches (a refund's reason typed by a person, a payment provider's message) is shown as
it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import Formatter

from marketplace.payments.models import PROVIDERS

NUMBER_FIELDS = frozenset(
    {"quantity_kg", "taken_kg", "available_kg", "held_kg", "count", "seq", "ttl_s", "position", "vintage"}
)
"""Fields that are whole numbers; every other field is an identifier or a code, without spaces,
commas or parentheses, except the last field of a wording, which takes the rest of the line."""


@dataclass(frozen=True)
class Wording:
    """One English template (``str.format`` fields) and the pattern that reads its lines back."""

    key: str
    english: str
    fields: dict[str, str] = field(default_factory=dict)
    """A field's own pattern, where the default for its name would read too much."""
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = list(Formatter().parse(self.english))
        names = [name for _, name, _, _ in parts if name]
        assert len(names) == len(set(names)), self.english
        regex = ""
        for literal, name, _, _ in parts:
            regex += re.escape(literal)
            if not name:
                continue
            if name in self.fields:
                regex += rf"(?P<{name}>{self.fields[name]})"
            elif name in NUMBER_FIELDS:
                regex += rf"(?P<{name}>\d+)"
            elif name == names[-1] and self.english.endswith("{" + name + "}"):
                regex += rf"(?P<{name}>.+)"
            else:
                regex += rf"(?P<{name}>[^\s,()]+)"
        object.__setattr__(self, "pattern", re.compile(regex, re.S))

    def format(self, **values: object) -> str:
        line = self.english.format(**values)
        assert self.pattern.fullmatch(line), line
        return line


@dataclass(frozen=True)
class Note:
    """A recorded line read back: its wording's key and the values in it, as written."""

    key: str
    values: dict[str, str]


# The allocation's explanation (marketplace.reservations, marketplace.quotes, marketplace.preorders).
ALLOCATED = Wording(
    "allocated", "allocated {quantity_kg} kg from the matching lots, oldest vintage first, then lowest lot id"
)
ALLOCATED_POVERTY_FIRST = Wording(
    "allocated_poverty_first",
    "allocated {quantity_kg} kg from the matching lots, poverty-area lots first, "
    "then oldest vintage first, then lowest lot id",
)
LOT_TAKEN = Wording(
    "lot_taken",
    "lot {lot_id} (vintage {vintage}, county {county_code}): {taken_kg} kg of {available_kg} kg available",
)
POVERTY_LOT_TAKEN = Wording(
    "poverty_lot_taken",
    "lot {lot_id} (vintage {vintage}, county {county_code}, poverty area): "
    "{taken_kg} kg of {available_kg} kg available",
)
LOT_PASSED_OVER = Wording(
    "lot_passed_over",
    "lot {lot_id} (vintage {vintage}, county {county_code}): passed over, nothing available",
)
POVERTY_LOT_PASSED_OVER = Wording(
    "poverty_lot_passed_over",
    "lot {lot_id} (vintage {vintage}, county {county_code}, poverty area): passed over, nothing available",
)
MORE_PASSED_OVER = Wording("more_passed_over", "and {count} more lots passed over, nothing available")
ALREADY_HELD = Wording("already_held", "order {order_id} already holds its {held_kg} kg")
FROM_QUOTE = Wording("from_quote", "the quoted lots at the quoted prices (quote {quote_id})")
FROM_PREORDER = Wording(
    "from_preorder", "converted from pre-order {preorder_id} (listing {listing_id}, position {position})"
)
PREORDER_LOT = Wording(
    "preorder_lot", "lot {lot_id} (vintage {vintage}, county {county_code}): {quantity_kg} kg"
)

# Event notes (marketplace.order_store, marketplace.orders, marketplace.preorders, marketplace.payments).
STOCK_HELD = Wording("stock_held", "stock held in the lots")
INVOICE_PAID = Wording("invoice_paid", "invoice paid, reference {reference}")
PROVIDER_PAYMENT = Wording(
    "provider_payment", "{provider} payment {payment_id}", {"provider": "|".join(PROVIDERS)}
)
LEDGER_ENTRY = Wording("ledger_entry", "ledger entry {seq}")
UNPAID_EXPIRED = Wording("unpaid_expired", "unpaid {ttl_s} s after reservation")
CONVERTED_FROM_PREORDER = Wording("converted_from_preorder", "converted from pre-order {preorder_id}")

WORDINGS: tuple[Wording, ...] = (
    ALLOCATED,
    ALLOCATED_POVERTY_FIRST,
    LOT_TAKEN,
    POVERTY_LOT_TAKEN,
    LOT_PASSED_OVER,
    POVERTY_LOT_PASSED_OVER,
    MORE_PASSED_OVER,
    ALREADY_HELD,
    FROM_QUOTE,
    FROM_PREORDER,
    PREORDER_LOT,
    STOCK_HELD,
    INVOICE_PAID,
    PROVIDER_PAYMENT,
    LEDGER_ENTRY,
    UNPAID_EXPIRED,
    CONVERTED_FROM_PREORDER,
)
assert len({wording.key for wording in WORDINGS}) == len(WORDINGS)


def read_note(line: str) -> Note | None:
    """The wording that wrote ``line`` and its values; None for a line none of them wrote.

    The wordings are tried in order; no line one of them writes is matched by another (tested), so
    the first match is the one.
    """
    for wording in WORDINGS:
        match = wording.pattern.fullmatch(line)
        if match:
            return Note(wording.key, match.groupdict())
    return None
