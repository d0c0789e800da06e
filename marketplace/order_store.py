"""Orders persisted: placing, reserving, paying by invoice, fulfilling on the ledger, expiring, certificates.

The rules are :mod:`marketplace.orders` (a pure state machine); this module loads an order's rows into
that machine, applies one command, and writes back the new events (inserted, never changed) and the
state they lead to. Stock is held by :mod:`marketplace.reservations`. Fulfilment appends the ledger entry
with request id ``order:<id>:fulfil`` in the caller's unit of work, so a replayed payment or a retried
fulfilment finds the first entry and never retires or transfers twice; the state machine refuses a
second payment on top. Every function takes the caller's session and never commits.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.accounts import RETAIL
from ledger.commands import Beneficiary, Retire, Selection, Transfer
from ledger.models import Holding
from ledger.orm import as_utc
from ledger.ranges import SerialRange
from ledger.sequencer import Sequencer
from marketplace import order_notes as notes
from marketplace import orders as machine
from marketplace import quotes, reservations
from marketplace.lots import LotFilters, available_kg_of
from marketplace.models import Certificate, Lot, LotReservation, MarketOrder, MarketOrderEvent
from marketplace.money import price_fen
from marketplace.orders import LotHold, Order, OrderKind, OrderState, Reservation
from offsets.models import Organisation

DEFAULT_RESERVATION_TTL_S = 30 * 60
"""Half an hour to pay; the registry may configure another (``TANHUI_RESERVATION_TTL_S``)."""
REASON_BY_KIND = {
    OrderKind.INDIVIDUAL: "personal_footprint",
    OrderKind.EVENT: "event",
    OrderKind.ENTERPRISE: "compliance_period",
}


@dataclass(frozen=True)
class NewOrder:
    kind: OrderKind
    quantity_kg: int
    buyer_organisation_id: int | None
    buyer_display_name: str
    beneficiary_name: str
    beneficiary_public: bool
    reason: str
    details: str
    filters: LotFilters
    anonymous_idempotency_key: str | None = None
    quote_id: str | None = None
    """Accept this quote (marketplace.quotes): reserve exactly its lines at its prices, or refuse."""
    event_id: int | None = None
    gift_message: str | None = None
    user_id: int | None = None
    """The signed-in individual placing it on the pages, for their order history."""


def new_order_id() -> str:
    """128 random bits: unguessable, so that the id alone can show an order placed without a key."""
    return "O-" + secrets.token_hex(16)


def new_certificate_id() -> str:
    return secrets.token_hex(8)


def place_and_reserve(
    session: Session, command: NewOrder, *, now: datetime, ttl_s: int = DEFAULT_RESERVATION_TTL_S
) -> MarketOrder:
    """Place an order priced from the lots it is allocated, and reserve them, in the caller's transaction."""
    order_id = new_order_id()
    if command.quote_id is not None:
        allocation = quotes.reserve_quoted(
            session,
            command.quote_id,
            order_id,
            organisation_id=command.buyer_organisation_id,
            quantity_kg=command.quantity_kg,
            now=now,
            ttl_s=ttl_s,
        )
    else:
        allocation = reservations.reserve(
            session, order_id, command.quantity_kg, command.filters, now=now, ttl_s=ttl_s
        )
    lots = {lot.id: lot for lot in session.scalars(select(Lot).where(Lot.id.in_(_lot_ids(allocation.holds))))}
    total_fen = sum(
        price_fen(hold.quantity_kg, lots[hold.lot_id].price_fen_per_t) for hold in allocation.holds
    )
    if command.quote_id is not None:
        quotes.check_quoted_total(session, command.quote_id, total_fen)
    order = machine.place_order(order_id, command.kind, command.quantity_kg, total_fen, at=now)
    order = machine.reserve(order, allocation.holds, at=now, ttl_s=ttl_s, detail=notes.STOCK_HELD.format())
    row = MarketOrder(
        id=order_id,
        kind=command.kind.value,
        buyer_organisation_id=command.buyer_organisation_id,
        buyer_display_name=command.buyer_display_name,
        quantity_kg=command.quantity_kg,
        price_fen=total_fen,
        state=order.state.value,
        beneficiary_name=command.beneficiary_name,
        beneficiary_public=command.beneficiary_public,
        reason=command.reason,
        details=command.details,
        sourcing=json.dumps(asdict(command.filters), sort_keys=True),
        allocation_explanation="\n".join(allocation.explanation),
        anonymous_idempotency_key=command.anonymous_idempotency_key,
        placed_at=now,
        quote_id=command.quote_id,
        event_id=command.event_id,
        gift_message=command.gift_message,
        user_id=command.user_id,
    )
    session.add(row)
    session.flush()
    write_events(session, row, order)
    return row


def load(session: Session, row: MarketOrder) -> Order:
    """The order as the state machine sees it, rebuilt from its rows."""
    events = [
        machine.OrderEvent(
            source=OrderState(event.source),
            target=OrderState(event.target),
            at=as_utc(event.at),
            cause=machine.Cause(event.cause),
            detail=event.detail,
            provider_event_id=event.provider_event_id,
            paid_fen=event.paid_fen,
            refunded_fen=event.refunded_fen,
        )
        for event in stored_events(session, row.id)
    ]
    return Order(
        order_id=row.id,
        kind=OrderKind(row.kind),
        quantity_kg=row.quantity_kg,
        price_fen=row.price_fen,
        placed_at=as_utc(row.placed_at),
        state=OrderState(row.state),
        reservation=_latest_reservation(session, row.id),
        events=tuple(events),
        processed_provider_event_ids=frozenset(e.provider_event_id for e in events if e.provider_event_id),
    )


def stored_events(session: Session, order_id: str) -> Sequence[MarketOrderEvent]:
    return session.scalars(
        select(MarketOrderEvent)
        .where(MarketOrderEvent.order_id == order_id)
        .order_by(MarketOrderEvent.position)
    ).all()


def write_events(session: Session, row: MarketOrder, order: Order) -> None:
    """Insert the events of ``order`` not yet stored, and set the state they lead to.

    The one place an order's events are written, whoever changed the order (this module, or
    :func:`marketplace.preorders.convert_listing` for an order converted from a pre-order)."""
    stored = session.scalar(select(func.count()).where(MarketOrderEvent.order_id == row.id)) or 0
    for position, event in enumerate(order.events[stored:], start=stored):
        session.add(
            MarketOrderEvent(
                order_id=row.id,
                position=position,
                source=event.source.value,
                target=event.target.value,
                at=event.at,
                cause=event.cause.value,
                detail=event.detail,
                provider_event_id=event.provider_event_id,
                paid_fen=event.paid_fen,
                refunded_fen=event.refunded_fen,
            )
        )
    row.state = order.state.value
    session.flush()


def buyer_ledger_account(session: Session, row: MarketOrder) -> str | None:
    """The buyer organisation's ledger account (an enterprise's credits are transferred to it on
    fulfilment), or ``None`` for an individual's order; what :func:`fulfil` takes as
    ``ledger_account_of_buyer``."""
    if row.buyer_organisation_id is None:
        return None
    return session.scalar(
        select(Organisation.ledger_account_id).where(Organisation.id == row.buyer_organisation_id)
    )


def record_invoice_payment(
    session: Session,
    sequencer: Sequencer,
    row: MarketOrder,
    *,
    reference: str,
    amount_fen: int,
    now: datetime,
    ledger_account_of_buyer: str | None,
) -> MarketOrder:
    """The registry confirms an invoice was paid; idempotent on ``reference``. Fulfils at once if paid."""
    before, now = lock_and_load(session, row, now=now)
    provider_event_id = f"invoice:{reference}"
    stock_available: bool | None = None
    if machine.needs_stock_decision(before) and provider_event_id not in before.processed_provider_event_ids:
        stock_available = _re_reserve(session, before, now=now)
    after = machine.record_payment(
        before,
        provider_event_id=provider_event_id,
        amount_fen=amount_fen,
        at=now,
        stock_available=stock_available,
        detail=notes.INVOICE_PAID.format(reference=reference),
    )
    write_events(session, row, after)
    if after.state is OrderState.PAID:
        fulfil(session, sequencer, row, now=now, ledger_account_of_buyer=ledger_account_of_buyer)
    return row


# --- for the payment providers (marketplace.payments.settlement) ---------------------------------------


def lock_and_load(session: Session, row: MarketOrder, *, now: datetime) -> tuple[Order, datetime]:
    """Lock the order's row for the rest of the unit of work and load it (a payment's first step), with
    the time to record the caller's events at.

    ``now`` is the caller's clock, read before it waited for the lock. A request that held the lock
    meanwhile (a card payment and an invoice payment for one order, a payment and the expiry job) may have
    recorded an event at a later reading of its own clock; the state machine refuses an event earlier than
    the order's last, so the waiting request, which is processed after it, records its events at that time.
    """
    _lock(session, [row.id])
    order = load(session, row)
    return order, max(now, order.last_at)


def re_reserve_for_late_payment(session: Session, order: Order, *, now: datetime) -> bool:
    """Hold an expired order's previous lots again for a payment that arrived late; False if short of stock.

    The caller has locked the order (:func:`lock_and_load`) and records the payment right after, with this
    answer as ``stock_available`` (as :func:`record_invoice_payment` does).
    """
    assert machine.needs_stock_decision(order), order.state
    return _re_reserve(session, order, now=now)


def save_order(session: Session, row: MarketOrder, order: Order) -> None:
    """Insert the events the state machine added to ``order`` and set the row's state; release the
    reservation if the order no longer holds stock (cancelled by a failed payment, refunded)."""
    write_events(session, row, order)
    if not order.holds_stock and order.state is not OrderState.FULFILLED:
        reservations.release(session, row.id, now=order.last_at)


def fulfil(
    session: Session,
    sequencer: Sequencer,
    row: MarketOrder,
    *,
    now: datetime,
    ledger_account_of_buyer: str | None,
) -> MarketOrder:
    """Append the order's ledger entry (retire, or transfer for enterprises), mark it fulfilled, release."""
    order = load(session, row)
    if order.state is OrderState.FULFILLED:
        return row
    assert order.state is OrderState.PAID, order.state
    assert order.reservation is not None
    selection = _selection(session, order.reservation.holds)
    request_id = f"order:{row.id}:fulfil"
    if order.kind is OrderKind.ENTERPRISE:
        if ledger_account_of_buyer is None:
            raise machine.InvalidOrder("the enterprise has no ledger account", field="buyer")
        command: Retire | Transfer = Transfer(
            request_id=request_id,
            from_account=RETAIL,
            to_account=ledger_account_of_buyer,
            selection=selection,
            memo=f"order {row.id}",
        )
    else:
        command = Retire(
            request_id=request_id,
            account=RETAIL,
            selection=selection,
            beneficiary=Beneficiary(name=row.beneficiary_name, public=row.beneficiary_public),
            reason=row.reason,
            details=row.details,
        )
    [entry] = sequencer.append(session, [command])
    reservations.release(session, row.id, now=now)
    write_events(session, row, machine.fulfil(order, at=now, detail=notes.LEDGER_ENTRY.format(seq=entry.seq)))
    row.fulfilment_seq = entry.seq
    if (
        entry.kind == "retire"
        and session.scalar(select(Certificate.id).where(Certificate.seq == entry.seq)) is None
    ):
        session.add(Certificate(id=new_certificate_id(), order_id=row.id, seq=entry.seq, created_at=now))
    session.flush()
    return row


def expire_due_orders(session: Session, now: datetime) -> list[str]:
    """Release every reservation due and move each of its orders to ``expired`` (the scheduler's job).

    The orders are locked first, in id order, as a payment locks its order before touching reservations:
    a payment and the job for the same order then run one after the other, and the later one sees the
    earlier one's outcome (a paid order's reservation is already released; an expired order is re-reserved
    or refunded by the state machine).
    """
    due = session.scalars(
        select(LotReservation.order_id)
        .where(LotReservation.released_at.is_(None), LotReservation.expires_at <= now)
        .distinct()
    ).all()
    _lock(session, sorted(due))
    expired = []
    for order_id in reservations.expire_due(session, now):
        row = session.get(MarketOrder, order_id)
        if row is None:
            continue
        after = machine.expire_if_due(load(session, row), now)
        if after.state is OrderState.EXPIRED and row.state != OrderState.EXPIRED.value:
            write_events(session, row, after)
            expired.append(order_id)
    return expired


# --- helpers --------------------------------------------------------------------------------------------


def _lock(session: Session, order_ids: Sequence[str]) -> None:
    """Lock the orders' rows (PostgreSQL ``FOR UPDATE``; SQLite's unit of work holds the write lock)."""
    if order_ids:
        session.execute(
            select(MarketOrder.id)
            .where(MarketOrder.id.in_(list(order_ids)))
            .order_by(MarketOrder.id)
            .with_for_update()
        )
        for order_id in order_ids:
            row = session.get(MarketOrder, order_id)
            if row is not None:
                session.refresh(row)


def _lot_ids(holds: Sequence[LotHold]) -> list[str]:
    return [hold.lot_id for hold in holds]


def _selection(session: Session, holds: Sequence[LotHold]) -> Selection:
    """Exactly the held kilograms: per lot, RETAIL's lowest serials of the lot's batch.

    With one lot this is a quantity limited to its batch; with several, explicit ranges, since a single
    quantity over several batches would take from the first batch more than its lot's hold.
    """
    lots = {lot.id: lot for lot in session.scalars(select(Lot).where(Lot.id.in_(_lot_ids(holds))))}
    if len(holds) == 1:
        [hold] = holds
        return Selection(quantity_kg=hold.quantity_kg, batches=(lots[hold.lot_id].batch_id,))
    ranges: list[SerialRange] = []
    for hold in holds:
        batch_id = lots[hold.lot_id].batch_id
        remaining = hold.quantity_kg
        for start, end in session.execute(
            select(Holding.start_kg, Holding.end_kg)
            .where(Holding.account_id == RETAIL, Holding.batch_id == batch_id)
            .order_by(Holding.start_kg)
        ):
            if remaining == 0:
                break
            take = min(end - start + 1, remaining)
            ranges.append(SerialRange(batch_id, start, start + take - 1))
            remaining -= take
        if remaining:
            # The ledger would refuse it anyway; say which lot is short.
            raise machine.InvalidOrder(
                f"lot {hold.lot_id} no longer holds {hold.quantity_kg} kg", field="holds"
            )
    return Selection(ranges=tuple(ranges))


def _re_reserve(session: Session, order: Order, *, now: datetime) -> bool:
    """For a payment after expiry: hold the order's previous lots again if they still have the stock."""
    assert order.reservation is not None
    holds = order.reservation.holds
    lots = list(
        session.scalars(
            select(Lot)
            .where(Lot.id.in_(_lot_ids(holds)), Lot.status == "listed")
            .order_by(Lot.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    available = available_kg_of(session, lots)
    if len(lots) != len(holds) or any(available[hold.lot_id] < hold.quantity_kg for hold in holds):
        return False
    session.add_all(
        LotReservation(
            order_id=order.order_id,
            lot_id=hold.lot_id,
            quantity_kg=hold.quantity_kg,
            reserved_at=now,
            expires_at=now + (order.reservation.expires_at - order.reservation.reserved_at),
        )
        for hold in holds
    )
    session.flush()
    return True


def _latest_reservation(session: Session, order_id: str) -> Reservation | None:
    latest = session.scalar(
        select(func.max(LotReservation.reserved_at)).where(LotReservation.order_id == order_id)
    )
    if latest is None:
        return None
    rows = session.scalars(
        select(LotReservation)
        .where(LotReservation.order_id == order_id, LotReservation.reserved_at == latest)
        .order_by(LotReservation.lot_id)
    ).all()
    ttl_s = int((as_utc(rows[0].expires_at) - as_utc(rows[0].reserved_at)).total_seconds())
    return Reservation(
        holds=tuple(LotHold(row.lot_id, row.quantity_kg) for row in rows),
        reserved_at=as_utc(latest),
        ttl_s=ttl_s,
    )
