"""Reserving stock in lots for an order without overselling, releasing it, and expiring unpaid holds.

Allocation is deterministic and explained: the matching listed lots are taken in the order of
:func:`marketplace.lots.allocation_key` — poverty-area lots first when the buyer prefers them, then the
oldest vintage, then the lowest lot id (code-point order) — each giving as much as it has available until
the order's quantity is met. The explanation (one line for the rule, one per lot used or passed over,
the passed-over ones after the first ten counted in one line) is meant for the order's ``reserve``
event (``orders.reserve(..., detail=...)``). An order is fulfilled by one ledger entry, so it takes from
no more lots than that entry's serial ranges allow (:func:`allocation_candidates`).

Concurrency: :func:`reserve` first locks every matching lot row in lot-id order (PostgreSQL:
``SELECT … FOR UPDATE``; on SQLite the writing unit of work's ``BEGIN IMMEDIATE`` already holds the
database's write lock), and only then reads holdings and reservations. Two reservations that could take
from the same lot therefore run one after the other, the second seeing the first's rows once it commits
(READ COMMITTED takes a new snapshot per statement); locking in one global order means they cannot
deadlock. Releasing needs no lock: it only ever makes stock available.

Functions take the caller's session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger import limits
from ledger.errors import InvalidCommand
from ledger.value_checks import check_quantity_kg
from marketplace import order_notes as notes
from marketplace.errors import check_utc
from marketplace.lots import (
    InsufficientStock,
    InvalidLot,
    LotConflict,
    LotFilters,
    TooManyLots,
    allocation_key,
    available_kg_of,
    matching_lots,
    retail_ranges_by_batch,
)
from marketplace.models import Lot, LotReservation
from marketplace.orders import IDENTIFIER, MAX_RESERVATION_TTL_S, LotHold

MAX_PASSED_OVER_LINES = 10
"""Lots with nothing available named one by one in an explanation; the rest are counted in one line."""


@dataclass(frozen=True)
class Candidate:
    """A lot as allocation sees it: the facts it orders by and its available kilograms."""

    id: str
    vintage: str
    poverty_county: bool
    county_code: str
    available_kg: int


@dataclass(frozen=True)
class Allocation:
    """The holds chosen for an order and why, in allocation order."""

    holds: tuple[LotHold, ...]
    explanation: tuple[str, ...]

    @property
    def quantity_kg(self) -> int:
        return sum(hold.quantity_kg for hold in self.holds)


def allocate(candidates: Sequence[Candidate], quantity_kg: int, *, prefer_poverty_area: bool) -> Allocation:
    """Take ``quantity_kg`` from ``candidates`` in allocation order; :class:`InsufficientStock` if short."""
    check_quantity_kg(quantity_kg)
    ordered = sorted(candidates, key=lambda c: allocation_key(c, prefer_poverty_area))
    total_available = sum(max(c.available_kg, 0) for c in ordered)
    if total_available < quantity_kg:
        raise InsufficientStock(
            f"{quantity_kg} kg asked for but the {len(ordered)} matching lots have "
            f"{total_available} kg available",
            field="quantity_kg",
        )
    rule = notes.ALLOCATED_POVERTY_FIRST if prefer_poverty_area else notes.ALLOCATED
    explanation = [rule.format(quantity_kg=quantity_kg)]
    holds = []
    remaining_kg = quantity_kg
    passed_over = 0
    for candidate in ordered:
        if remaining_kg == 0:
            break
        lot = {"lot_id": candidate.id, "vintage": candidate.vintage, "county_code": candidate.county_code}
        if candidate.available_kg <= 0:
            passed_over += 1
            if passed_over <= MAX_PASSED_OVER_LINES:
                wording = notes.POVERTY_LOT_PASSED_OVER if candidate.poverty_county else notes.LOT_PASSED_OVER
                explanation.append(wording.format(**lot))
            continue
        taken_kg = min(candidate.available_kg, remaining_kg)
        holds.append(LotHold(lot_id=candidate.id, quantity_kg=taken_kg))
        wording = notes.POVERTY_LOT_TAKEN if candidate.poverty_county else notes.LOT_TAKEN
        explanation.append(wording.format(**lot, taken_kg=taken_kg, available_kg=candidate.available_kg))
        remaining_kg -= taken_kg
    assert remaining_kg == 0
    if passed_over > MAX_PASSED_OVER_LINES:
        explanation.append(notes.MORE_PASSED_OVER.format(count=passed_over - MAX_PASSED_OVER_LINES))
    allocation = Allocation(holds=tuple(holds), explanation=tuple(explanation))
    assert allocation.quantity_kg == quantity_kg
    return allocation


def reserve(
    session: Session,
    order_id: str,
    quantity_kg: int,
    filters: LotFilters,
    *,
    now: datetime,
    ttl_s: int,
) -> Allocation:
    """Hold ``quantity_kg`` for ``order_id`` in the lots matching ``filters`` until ``now + ttl_s``.

    Idempotent on the order: an order that already holds an unreleased reservation of the same quantity
    gets it back unchanged (its explanation says so); of a different quantity, :class:`LotConflict`.
    Returns the allocation (holds and explanation) rather than bare holds, since the order records both.
    """
    _check_order_id(order_id)
    try:
        check_quantity_kg(quantity_kg)
    except InvalidCommand as error:
        raise InvalidLot(error.message, field="quantity_kg") from error
    check_utc(now, InvalidLot)
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not 1 <= ttl_s <= MAX_RESERVATION_TTL_S:
        raise InvalidLot(f"must be 1 to {MAX_RESERVATION_TTL_S} seconds", field="ttl_s")
    filters.validate()

    # The lock first, then every read that decides: rows read before it could be stale.
    lots = list(
        session.scalars(matching_lots(filters).with_for_update().execution_options(populate_existing=True))
    )
    existing = active_holds(session, order_id)
    if existing:
        held_kg = sum(hold.quantity_kg for hold in existing)
        if held_kg != quantity_kg:
            raise LotConflict(
                f"order {order_id} already holds {held_kg} kg; release it before reserving again",
                field="order_id",
            )
        return Allocation(
            holds=existing, explanation=(notes.ALREADY_HELD.format(order_id=order_id, held_kg=held_kg),)
        )

    candidates = allocation_candidates(session, lots, quantity_kg, filters.prefer_poverty_area)
    allocation = allocate(candidates, quantity_kg, prefer_poverty_area=filters.prefer_poverty_area)
    expires_at = now + timedelta(seconds=ttl_s)
    session.add_all(
        LotReservation(
            order_id=order_id,
            lot_id=hold.lot_id,
            quantity_kg=hold.quantity_kg,
            reserved_at=now,
            expires_at=expires_at,
        )
        for hold in allocation.holds
    )
    session.flush()
    return allocation


def allocation_candidates(
    session: Session, lots: Sequence[Lot], quantity_kg: int, prefer_poverty_area: bool
) -> list[Candidate]:
    """The candidates a reservation or a quote allocates ``quantity_kg`` from, with what each has now.

    Cut where the order's one ledger entry could need more than ``MAX_RANGES_PER_ENTRY`` serial ranges
    (see :func:`_within_limit`). When that limit, not the stock, is what stands in the way,
    :class:`TooManyLots` says so, naming ``quantity_kg``.
    """
    available = available_kg_of(session, list(lots))
    ranges = retail_ranges_by_batch(session, [lot.batch_id for lot in lots])
    candidates = [
        Candidate(lot.id, lot.vintage, lot.poverty_county, lot.county_code, available[lot.id])
        for lot in _within_limit(lots, available, ranges, quantity_kg, prefer_poverty_area)
    ]
    if sum(candidate.available_kg for candidate in candidates) < quantity_kg <= sum(available.values()):
        raise TooManyLots(
            f"{quantity_kg} kg would have to come from more than {limits.MAX_RANGES_PER_ENTRY} lots "
            "or serial ranges; order it in smaller parts",
            field="quantity_kg",
        )
    return candidates


def _within_limit(
    lots: Sequence[Lot],
    available: dict[str, int],
    ranges: dict[str, int],
    quantity_kg: int,
    prefer_poverty_area: bool,
) -> list[Lot]:
    """The lots allocation may take from, in allocation order: as many as the quantity needs, while the
    serial ranges they could need fit in one ledger entry (``MAX_RANGES_PER_ENTRY``).

    The order is fulfilled by one entry naming each lot's kilograms as RETAIL's lowest serials of its batch.
    Taking ``k`` kg of a batch RETAIL holds in ``r`` ranges needs at most ``min(k, r)`` of them, and RETAIL's
    ranges of a batch only shrink as it sells. Lots with nothing available need no range: sold-out lots stay
    listed, and being the oldest they come first, so counting them would turn buyers away while younger
    lots still have stock. They are kept, for the explanation to pass over.
    """
    kept: list[Lot] = []
    needed_ranges = 0
    remaining_kg = quantity_kg
    for lot in sorted(lots, key=lambda lot: allocation_key(lot, prefer_poverty_area)):
        if remaining_kg == 0:
            break
        taken_kg = min(available[lot.id], remaining_kg)
        if taken_kg > 0:
            needed_ranges += min(taken_kg, ranges[lot.batch_id])
            if needed_ranges > limits.MAX_RANGES_PER_ENTRY:
                break
            remaining_kg -= taken_kg
        kept.append(lot)
    return kept


def active_holds(session: Session, order_id: str) -> tuple[LotHold, ...]:
    """The order's unreleased holds, by lot id."""
    rows = session.execute(
        select(LotReservation.lot_id, LotReservation.quantity_kg)
        .where(LotReservation.order_id == order_id, LotReservation.released_at.is_(None))
        .order_by(LotReservation.lot_id)
    ).all()
    return tuple(LotHold(lot_id=lot_id, quantity_kg=quantity) for lot_id, quantity in rows)


def release(session: Session, order_id: str, *, now: datetime) -> int:
    """Release the order's unreleased holds (cancelled, failed or fulfilled); the kilograms released."""
    _check_order_id(order_id)
    check_utc(now, InvalidLot)
    released_kg = sum(hold.quantity_kg for hold in active_holds(session, order_id))
    session.execute(
        update(LotReservation)
        .where(LotReservation.order_id == order_id, LotReservation.released_at.is_(None))
        .values(released_at=now, release_cause="released")
    )
    return released_kg


def expire_due(session: Session, now: datetime) -> list[str]:
    """Release every unreleased reservation whose expiry time is at or before ``now``.

    Returns the ids of the orders affected, so that the caller (the APScheduler job) moves each of them
    to ``expired`` (``orders.expire_if_due``) in the same transaction.
    """
    check_utc(now, InvalidLot)
    due = LotReservation.released_at.is_(None) & (LotReservation.expires_at <= now)
    order_ids = sorted(set(session.scalars(select(LotReservation.order_id).where(due))))
    session.execute(update(LotReservation).where(due).values(released_at=now, release_cause="expired"))
    return order_ids


def _check_order_id(value: object) -> None:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= limits.MAX_REQUEST_ID_CHARS
        or not IDENTIFIER.fullmatch(value)
    ):
        raise InvalidLot(
            f"must be 1-{limits.MAX_REQUEST_ID_CHARS} characters of letters, digits and ._:/@-",
            field="order_id",
        )
