"""Quotes: what an organisation's order would cost, lot by lot, for a while — without holding any stock.

A quote runs the same deterministic allocation as a reservation (:func:`marketplace.reservations.allocate`
over the lots matching the buyer's :class:`~marketplace.lots.LotFilters`, in
:func:`~marketplace.lots.allocation_key` order, as many lots as one ledger entry's serial ranges allow:
:func:`~marketplace.reservations.allocation_candidates`) on the stock available now, prices each line
with :func:`marketplace.money.price_fen` and records it, valid for :data:`DEFAULT_QUOTE_VALIDITY_S` (the
registry may configure another, ``TANHUI_QUOTE_VALIDITY_S``).

Nothing is reserved, so the stock may move before the buyer orders. An order that accepts the quote
(:func:`reserve_quoted`) therefore reserves exactly the quoted lines — the same lots, kilograms and prices
per tonne — or is refused with a 409 naming ``quote_id`` and saying what moved; it is never silently
re-allocated or re-priced. A quote is accepted by one order only (a unique index on ``orders.quote_id``),
and only by its own organisation: any other caller is told that no such quote exists.

Functions take the caller's session and never commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.errors import InvalidCommand, LedgerError
from ledger.orm import as_utc
from ledger.value_checks import check_quantity_kg
from marketplace import order_notes as notes
from marketplace.journey_models import Quote, QuoteLine
from marketplace.lots import InvalidLot, LotFilters, available_kg_of, find_lots
from marketplace.models import Lot, LotReservation, MarketOrder
from marketplace.money import price_fen
from marketplace.orders import MAX_RESERVATION_TTL_S, LotHold
from marketplace.reservations import Allocation, Candidate, allocate, allocation_candidates

DEFAULT_QUOTE_VALIDITY_S = 24 * 3600
"""A day: long enough for an enterprise's purchasing approval, short enough that listed prices hold."""
MAX_QUOTE_VALIDITY_S = 30 * 24 * 3600


class QuoteError(LedgerError):
    """A request about a quote that is refused; nothing has been written."""

    code = "quote-error"
    status = 422


class QuoteNotFound(QuoteError):
    """No such quote, or it belongs to another organisation (which must not learn that it exists)."""

    code = "quote-not-found"
    status = 404


class QuoteExpired(QuoteError):
    code = "quote-expired"
    status = 409


class QuoteAlreadyAccepted(QuoteError):
    code = "quote-already-accepted"
    status = 409


class QuoteNoLongerHonoured(QuoteError):
    """The quoted lots no longer have the stock, the listing or the price the quote was given at."""

    code = "quote-no-longer-honoured"
    status = 409


@dataclass(frozen=True)
class QuotedLine:
    lot_id: str
    quantity_kg: int
    price_fen_per_t: int
    price_fen: int


def new_quote_id() -> str:
    return "Q-" + secrets.token_hex(16)


def price_lines(
    holds: tuple[LotHold, ...], price_fen_per_t_by_lot: Mapping[str, int]
) -> tuple[QuotedLine, ...]:
    """Each hold priced at its lot's price per tonne (each line rounded up to the fen, as orders are)."""
    return tuple(
        QuotedLine(
            lot_id=hold.lot_id,
            quantity_kg=hold.quantity_kg,
            price_fen_per_t=price_fen_per_t_by_lot[hold.lot_id],
            price_fen=price_fen(hold.quantity_kg, price_fen_per_t_by_lot[hold.lot_id]),
        )
        for hold in holds
    )


@dataclass(frozen=True)
class QuotePlan:
    lines: tuple[QuotedLine, ...]
    explanation: tuple[str, ...]

    @property
    def total_fen(self) -> int:
        return sum(line.price_fen for line in self.lines)


def plan_quote(
    candidates: Sequence[Candidate],
    price_fen_per_t_by_lot: Mapping[str, int],
    quantity_kg: int,
    *,
    prefer_poverty_area: bool,
) -> QuotePlan:
    """The quote for ``quantity_kg`` over ``candidates``: the reservation's allocation, priced. Pure."""
    allocation = allocate(candidates, quantity_kg, prefer_poverty_area=prefer_poverty_area)
    plan = QuotePlan(price_lines(allocation.holds, price_fen_per_t_by_lot), allocation.explanation)
    assert sum(line.quantity_kg for line in plan.lines) == quantity_kg
    return plan


@dataclass(frozen=True)
class LotNow:
    """What a quoted lot is at the moment an order accepts the quote."""

    listed: bool
    price_fen_per_t: int
    available_kg: int


def check_still_honoured(lines: Sequence[QuotedLine], now_by_lot: Mapping[str, LotNow]) -> None:
    """Refuse (:class:`QuoteNoLongerHonoured`, naming the first lot that moved) unless every quoted line
    can be reserved now exactly as quoted: its lot still listed, at the same price, with the stock. Pure."""
    for line in lines:
        lot = now_by_lot.get(line.lot_id)
        if lot is None or not lot.listed:
            raise QuoteNoLongerHonoured(
                f"lot {line.lot_id} is no longer on sale; ask for a new quote", field="quote_id"
            )
        if lot.price_fen_per_t != line.price_fen_per_t:
            raise QuoteNoLongerHonoured(
                f"lot {line.lot_id} now costs {lot.price_fen_per_t} fen per tonne, quoted at "
                f"{line.price_fen_per_t}; ask for a new quote",
                field="quote_id",
            )
        if lot.available_kg < line.quantity_kg:
            raise QuoteNoLongerHonoured(
                f"lot {line.lot_id} has {lot.available_kg} kg available, "
                f"the quote takes {line.quantity_kg} kg; ask for a new quote",
                field="quote_id",
            )


def create_quote(
    session: Session,
    *,
    organisation_id: int,
    quantity_kg: int,
    filters: LotFilters,
    now: datetime,
    validity_s: int = DEFAULT_QUOTE_VALIDITY_S,
) -> Quote:
    """Quote ``quantity_kg`` from the lots matching ``filters`` for the organisation; reserves nothing.

    Raises :class:`~marketplace.lots.InsufficientStock` (409, ``quantity_kg``) when the matching lots do
    not have the quantity available now.
    """
    try:
        check_quantity_kg(quantity_kg)
    except InvalidCommand as error:
        raise InvalidLot(error.message, field="quantity_kg") from error
    if (
        isinstance(validity_s, bool)
        or not isinstance(validity_s, int)
        or not 1 <= validity_s <= MAX_QUOTE_VALIDITY_S
    ):
        raise QuoteError(f"must be 1 to {MAX_QUOTE_VALIDITY_S} seconds", field="validity_s")
    assert now.utcoffset() == timedelta(0), now
    lots = find_lots(session, filters)
    candidates = allocation_candidates(session, lots, quantity_kg, filters.prefer_poverty_area)
    plan = plan_quote(
        candidates,
        {lot.id: lot.price_fen_per_t for lot in lots},
        quantity_kg,
        prefer_poverty_area=filters.prefer_poverty_area,
    )
    lines = plan.lines
    quote = Quote(
        id=new_quote_id(),
        organisation_id=organisation_id,
        quantity_kg=quantity_kg,
        total_fen=plan.total_fen,
        sourcing=json.dumps(asdict(filters), sort_keys=True),
        explanation="\n".join(plan.explanation),
        created_at=now,
        valid_until=now + timedelta(seconds=validity_s),
    )
    session.add(quote)
    session.flush()
    session.add_all(
        QuoteLine(quote_id=quote.id, position=position, **asdict(line)) for position, line in enumerate(lines)
    )
    session.flush()
    assert quote.total_fen >= 1
    assert sum(line.quantity_kg for line in lines) == quantity_kg
    return quote


def lines_of(session: Session, quote_id: str) -> tuple[QuotedLine, ...]:
    rows = session.scalars(
        select(QuoteLine).where(QuoteLine.quote_id == quote_id).order_by(QuoteLine.position)
    ).all()
    return tuple(QuotedLine(row.lot_id, row.quantity_kg, row.price_fen_per_t, row.price_fen) for row in rows)


def visible_quote(session: Session, quote_id: str, organisation_id: int | None) -> Quote:
    """The quote, if ``organisation_id`` owns it (``None``: the registry, which sees all); else a 404."""
    quote = session.get(Quote, quote_id) if len(quote_id) <= 64 else None
    if quote is None or (organisation_id is not None and quote.organisation_id != organisation_id):
        raise QuoteNotFound(f"no quote {quote_id}", field="quote_id")
    return quote


def filters_of(quote: Quote) -> LotFilters:
    return LotFilters(**json.loads(quote.sourcing))


def reserve_quoted(
    session: Session,
    quote_id: str,
    order_id: str,
    *,
    organisation_id: int | None,
    quantity_kg: int,
    now: datetime,
    ttl_s: int,
) -> Allocation:
    """Hold exactly the quote's lines for ``order_id``, or refuse saying what moved since the quote.

    The quote's lots are locked in lot-id order — the global order :func:`marketplace.reservations.reserve`
    locks in, so the two cannot deadlock — before anything that decides is read.
    """
    if organisation_id is None:
        raise QuoteNotFound(f"no quote {quote_id}", field="quote_id")
    quote = visible_quote(session, quote_id, organisation_id)
    if quantity_kg != quote.quantity_kg:
        raise QuoteError(
            f"the quote is for {quote.quantity_kg} kg, the order asks for {quantity_kg} kg",
            field="quantity_kg",
        )
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not 1 <= ttl_s <= MAX_RESERVATION_TTL_S:
        raise InvalidLot(f"must be 1 to {MAX_RESERVATION_TTL_S} seconds", field="ttl_s")
    lines = lines_of(session, quote_id)
    lots = {
        lot.id: lot
        for lot in session.scalars(
            select(Lot)
            .where(Lot.id.in_([line.lot_id for line in lines]))
            .order_by(Lot.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    if now >= as_utc(quote.valid_until):
        raise QuoteExpired(
            f"the quote was valid until {as_utc(quote.valid_until).isoformat()}; ask for a new one",
            field="quote_id",
        )
    accepted_by = session.scalar(select(MarketOrder.id).where(MarketOrder.quote_id == quote_id))
    if accepted_by is not None:
        raise QuoteAlreadyAccepted(
            f"the quote was accepted by order {accepted_by}; ask for a new one", field="quote_id"
        )
    available = available_kg_of(session, list(lots.values()))
    check_still_honoured(
        lines,
        {
            lot.id: LotNow(lot.status == "listed", lot.price_fen_per_t, available[lot.id])
            for lot in lots.values()
        },
    )
    session.add_all(
        LotReservation(
            order_id=order_id,
            lot_id=line.lot_id,
            quantity_kg=line.quantity_kg,
            reserved_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
        for line in lines
    )
    session.flush()
    holds = tuple(
        LotHold(line.lot_id, line.quantity_kg) for line in sorted(lines, key=lambda line: line.lot_id)
    )
    explanation = (notes.FROM_QUOTE.format(quote_id=quote.id), *quote.explanation.split("\n"))
    return Allocation(holds=holds, explanation=explanation)


def check_quoted_total(session: Session, quote_id: str, total_fen: int) -> None:
    """The last guard before an order is written: it costs exactly what was quoted."""
    quoted = session.scalar(select(Quote.total_fen).where(Quote.id == quote_id))
    if quoted != total_fen:
        raise QuoteNoLongerHonoured(
            f"the order would cost {total_fen} fen, the quote said {quoted} fen", field="quote_id"
        )
