"""An order's state machine: reservation, payment, expiry, late payment, cancellation, refund, fulfilment.

created → reserved → paid → fulfilled, or expired, cancelled, refunded (issue 5). Every change of state
is an immutable :class:`OrderEvent` (source, target, UTC time, cause code, free-text detail, and the money
it moved); the allowed edges are the data in :data:`TRANSITIONS`, and anything else is refused with an
:class:`OrderError` naming the field at fault. The functions here are pure: each takes an :class:`Order`
and returns a new one, and checks nothing outside it. Stock is checked by the caller (which reserves lots
without overselling, under the database's lock) and passed in as plain data or as a boolean.

Choices made here, since the issue leaves them open:

- **fulfilled is final for every kind.** For individuals and events it means the credits were retired in
  the buyer's or event's name; for enterprises it means they were transferred to the enterprise's ledger
  account (their retirement for a compliance period is a later, separate ledger act, not an order state).
  Either way the ledger entries exist and are never undone by an order, so a fulfilled order cannot be
  refunded; reversing an enterprise transfer would be a registry correction, outside this module.
  :data:`FULFILMENT_ENTRY_KIND` says which ledger entry fulfilment appends.
- **money never disappears.** Paid and refunded fen are recorded on the events, and after every
  transition ``paid_fen - refunded_fen`` is the order's price in ``paid``/``fulfilled`` and 0 elsewhere.
  A payment that arrives when the order no longer holds stock (expired, or cancelled by the buyer or by a
  failed payment) is either re-reserved and paid — only after expiry, and only if the caller says stock
  allows — or recorded together with its refund in one event (state ``refunded``).
- **a failed payment releases the reservation** by cancelling the order (issue 5: "failed/cancelled →
  release"); the edge cancels the provider's payment, so a retry is a new order, and a payment that
  succeeds regardless is refunded, never lost. A failure reported for an order that holds no reservation
  (providers do not promise delivery order) changes nothing but is remembered as processed.
- **provider event ids are idempotency keys.** Every payment or failure event id the order has processed
  is kept on it; the same id again returns the order unchanged, whatever its state. A *different* payment
  for an order that is already paid, fulfilled or refunded is refused (:class:`DuplicatePayment`), so the
  edge refunds it at the provider instead of fulfilling twice.
- **a payment for a reservation past its expiry time, not yet expired by the job, is accepted**: the stock
  is still held, so nothing can have been oversold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from ledger import limits
from marketplace import order_notes as notes
from marketplace.errors import MarketplaceError
from marketplace.money import MoneyError, check_amount_fen

IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$")
"""Order, lot and provider event ids: the ledger's request-id alphabet, since fulfilment uses the order id
as the ledger request id."""

MAX_RESERVATION_TTL_S = 7 * 24 * 3600
"""A week: longer than any bank transfer should take to confirm an invoice."""
MAX_PROVIDER_EVENTS_PER_ORDER = 100
MAX_DETAIL_CHARS = limits.MAX_DETAILS_CHARS


class OrderKind(StrEnum):
    ENTERPRISE = "enterprise"
    EVENT = "event"
    INDIVIDUAL = "individual"


FULFILMENT_ENTRY_KIND: Mapping[OrderKind, str] = MappingProxyType(
    {OrderKind.ENTERPRISE: "transfer", OrderKind.EVENT: "retire", OrderKind.INDIVIDUAL: "retire"}
)
"""The ledger entry kind that fulfilment appends for each kind of order (with the order id as request id)."""


class OrderState(StrEnum):
    CREATED = "created"
    RESERVED = "reserved"
    PAID = "paid"
    FULFILLED = "fulfilled"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Cause(StrEnum):
    """Why a transition happened; stored on the event and shown in the order's history."""

    RESERVE = "reserve"
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    RESERVATION_EXPIRED = "reservation_expired"
    BUYER_CANCELLED = "buyer_cancelled"
    REFUND = "refund"
    RE_RESERVED_AFTER_LATE_PAYMENT = "re_reserved_after_late_payment"
    LATE_PAYMENT_REFUNDED = "late_payment_refunded"
    FULFIL = "fulfil"


@dataclass(frozen=True)
class Transition:
    source: OrderState
    target: OrderState
    cause: Cause


S = OrderState
TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.CREATED, S.RESERVED, Cause.RESERVE),
    Transition(S.CREATED, S.CANCELLED, Cause.BUYER_CANCELLED),
    Transition(S.RESERVED, S.PAID, Cause.PAYMENT_SUCCEEDED),
    Transition(S.RESERVED, S.CANCELLED, Cause.PAYMENT_FAILED),
    Transition(S.RESERVED, S.CANCELLED, Cause.BUYER_CANCELLED),
    Transition(S.RESERVED, S.EXPIRED, Cause.RESERVATION_EXPIRED),
    Transition(S.EXPIRED, S.RESERVED, Cause.RE_RESERVED_AFTER_LATE_PAYMENT),
    Transition(S.EXPIRED, S.REFUNDED, Cause.LATE_PAYMENT_REFUNDED),
    Transition(S.CANCELLED, S.REFUNDED, Cause.LATE_PAYMENT_REFUNDED),
    Transition(S.PAID, S.FULFILLED, Cause.FULFIL),
    Transition(S.PAID, S.REFUNDED, Cause.REFUND),
)
_ALLOWED = frozenset((t.source, t.target, t.cause) for t in TRANSITIONS)

TERMINAL_STATES = frozenset({S.FULFILLED, S.REFUNDED})
"""States nothing leaves. Expired and cancelled orders hold no stock but may still receive a late payment."""
HOLDING_STATES = frozenset({S.RESERVED, S.PAID})
"""States in which the order's reservation holds stock in its lots."""
PAID_STATES = frozenset({S.PAID, S.FULFILLED})
"""States in which the order keeps exactly its price; in every other state it keeps nothing."""


class OrderError(MarketplaceError):
    """A request about an order that is refused; the order is unchanged."""

    code = "order-error"
    status = 422


class InvalidOrder(OrderError):
    """The input is malformed: an id, quantity, amount, time, hold, TTL or text."""

    code = "invalid-order"


class TransitionRefused(OrderError):
    """The order's state does not allow this step (or a recorded history breaks the transitions)."""

    code = "order-transition-refused"
    status = 409


class DuplicatePayment(OrderError):
    """A second, different payment for an order that already has its money; refund it at the provider."""

    code = "duplicate-payment"
    status = 409


@dataclass(frozen=True)
class LotHold:
    """Kilograms of one lot held for the order (the caller has checked and locked the stock)."""

    lot_id: str
    quantity_kg: int


@dataclass(frozen=True)
class Reservation:
    holds: tuple[LotHold, ...]
    reserved_at: datetime
    ttl_s: int

    @property
    def quantity_kg(self) -> int:
        return sum(hold.quantity_kg for hold in self.holds)

    @property
    def expires_at(self) -> datetime:
        return self.reserved_at + timedelta(seconds=self.ttl_s)


@dataclass(frozen=True)
class OrderEvent:
    """One transition, never changed: what the order was, what it became, when, why, and the money moved."""

    source: OrderState
    target: OrderState
    at: datetime
    cause: Cause
    detail: str = ""
    provider_event_id: str | None = None
    paid_fen: int = 0
    refunded_fen: int = 0

    def __post_init__(self) -> None:
        assert (self.source, self.target, self.cause) in _ALLOWED, self
        assert _is_utc(self.at), self.at
        assert self.paid_fen >= 0
        assert self.refunded_fen >= 0


@dataclass(frozen=True)
class Order:
    order_id: str
    kind: OrderKind
    quantity_kg: int
    price_fen: int
    placed_at: datetime
    state: OrderState = OrderState.CREATED
    reservation: Reservation | None = None
    """The latest reservation; it holds stock only while the state is in :data:`HOLDING_STATES`."""
    events: tuple[OrderEvent, ...] = ()
    processed_provider_event_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def paid_fen(self) -> int:
        return sum(event.paid_fen for event in self.events)

    @property
    def refunded_fen(self) -> int:
        return sum(event.refunded_fen for event in self.events)

    @property
    def kept_fen(self) -> int:
        """What the registry keeps of the buyer's money: the price when paid or fulfilled, else 0."""
        return self.paid_fen - self.refunded_fen

    @property
    def holds_stock(self) -> bool:
        return self.state in HOLDING_STATES

    @property
    def last_at(self) -> datetime:
        return self.events[-1].at if self.events else self.placed_at

    @property
    def fulfilment_entry_kind(self) -> str:
        return FULFILMENT_ENTRY_KIND[self.kind]


# Commands. Each returns a new order, or raises OrderError and changes nothing.


def place_order(order_id: str, kind: OrderKind, quantity_kg: int, price_fen: int, *, at: datetime) -> Order:
    """A new order in state ``created`` for ``quantity_kg`` at a total of ``price_fen``."""
    _check_identifier(order_id, "order_id")
    if not isinstance(kind, OrderKind):
        raise InvalidOrder("must be enterprise, event or individual", field="kind")
    _check_quantity_kg(quantity_kg, "quantity_kg")
    _check_amount(price_fen, "price_fen")
    _check_utc(at)
    return Order(order_id=order_id, kind=kind, quantity_kg=quantity_kg, price_fen=price_fen, placed_at=at)


def reserve(order: Order, holds: Iterable[LotHold], *, at: datetime, ttl_s: int, detail: str = "") -> Order:
    """Hold the order's quantity in ``holds`` (stock already checked by the caller) for ``ttl_s`` seconds."""
    holds = tuple(holds)
    if not holds or len(holds) > limits.MAX_RANGES_PER_ENTRY:
        raise InvalidOrder(f"give 1 to {limits.MAX_RANGES_PER_ENTRY} lot holds", field="holds")
    for hold in holds:
        _check_identifier(hold.lot_id, "holds.lot_id")
        _check_quantity_kg(hold.quantity_kg, "holds.quantity_kg")
    if len({hold.lot_id for hold in holds}) != len(holds):
        raise InvalidOrder("each lot may appear only once", field="holds.lot_id")
    total_kg = sum(hold.quantity_kg for hold in holds)
    if total_kg != order.quantity_kg:
        raise InvalidOrder(
            f"the holds total {total_kg} kg but the order is for {order.quantity_kg} kg", field="holds"
        )
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not 1 <= ttl_s <= MAX_RESERVATION_TTL_S:
        raise InvalidOrder(f"must be 1 to {MAX_RESERVATION_TTL_S} seconds", field="ttl_s")
    reserved = _transition(order, S.RESERVED, Cause.RESERVE, at=at, detail=detail)
    return replace(reserved, reservation=Reservation(holds=holds, reserved_at=at, ttl_s=ttl_s))


def record_payment(
    order: Order,
    *,
    provider_event_id: str,
    amount_fen: int,
    at: datetime,
    stock_available: bool | None = None,
    detail: str = "",
) -> Order:
    """Record a succeeded payment; idempotent on ``provider_event_id``.

    A reserved order becomes paid. An expired order (a late payment) is re-reserved with its previous
    holds and paid if ``stock_available`` — the caller's answer, after checking and locking the lots —
    and otherwise refunded; a cancelled order is refunded. ``stock_available`` must be given for an
    expired order (:func:`needs_stock_decision`) and is ignored otherwise.
    """
    _check_identifier(provider_event_id, "provider_event_id")
    if provider_event_id in order.processed_provider_event_ids:
        return order
    _check_amount(amount_fen, "amount_fen")
    if amount_fen != order.price_fen:
        raise InvalidOrder(
            f"a payment of {amount_fen} fen does not match the order's price of {order.price_fen} fen",
            field="amount_fen",
        )
    _check_text(detail, "detail")
    _check_at(order, at)
    if order.state in {S.PAID, S.FULFILLED, S.REFUNDED}:
        raise DuplicatePayment(
            f"the order is already {order.state.value} by another payment; refund this one at the provider",
            field="provider_event_id",
        )
    if order.state is S.CREATED:
        raise TransitionRefused("a created order has not been reserved, so it cannot be paid", field="state")
    remembered = _remember(order, provider_event_id)
    if order.state is S.RESERVED:
        return _transition(
            remembered,
            S.PAID,
            Cause.PAYMENT_SUCCEEDED,
            at=at,
            detail=detail,
            provider_event_id=provider_event_id,
            paid_fen=amount_fen,
        )
    if order.state is S.EXPIRED:
        if stock_available is None:
            raise InvalidOrder(
                "a payment after expiry needs the caller's stock decision", field="stock_available"
            )
        if stock_available:
            assert order.reservation is not None
            again = _transition(
                remembered,
                S.RESERVED,
                Cause.RE_RESERVED_AFTER_LATE_PAYMENT,
                at=at,
                detail=detail,
                provider_event_id=provider_event_id,
            )
            again = replace(again, reservation=replace(order.reservation, reserved_at=at))
            return _transition(
                again,
                S.PAID,
                Cause.PAYMENT_SUCCEEDED,
                at=at,
                detail=detail,
                provider_event_id=provider_event_id,
                paid_fen=amount_fen,
            )
    assert order.state in {S.EXPIRED, S.CANCELLED}
    return _transition(
        remembered,
        S.REFUNDED,
        Cause.LATE_PAYMENT_REFUNDED,
        at=at,
        detail=detail,
        provider_event_id=provider_event_id,
        paid_fen=amount_fen,
        refunded_fen=amount_fen,
    )


def record_payment_failure(order: Order, *, provider_event_id: str, at: datetime, detail: str = "") -> Order:
    """A failed or cancelled payment: a reserved order is cancelled and its stock released.

    Idempotent on ``provider_event_id``. In any other state the failure changes nothing (it may arrive
    after a later success), except that its id is remembered.
    """
    _check_identifier(provider_event_id, "provider_event_id")
    if provider_event_id in order.processed_provider_event_ids:
        return order
    _check_text(detail, "detail")
    _check_at(order, at)
    remembered = _remember(order, provider_event_id)
    if order.state is not S.RESERVED:
        return remembered
    return _transition(
        remembered,
        S.CANCELLED,
        Cause.PAYMENT_FAILED,
        at=at,
        detail=detail,
        provider_event_id=provider_event_id,
    )


def expire_if_due(order: Order, now: datetime) -> Order:
    """The order expired if it is reserved, unpaid and ``now`` is at or past its expiry; else unchanged."""
    _check_utc(now)
    if order.state is not S.RESERVED:
        return order
    assert order.reservation is not None
    if now < order.reservation.expires_at:
        return order
    return _transition(
        order,
        S.EXPIRED,
        Cause.RESERVATION_EXPIRED,
        at=now,
        detail=notes.UNPAID_EXPIRED.format(ttl_s=order.reservation.ttl_s),
    )


def cancel(order: Order, *, at: datetime, detail: str = "") -> Order:
    """The buyer withdraws a created or reserved (unpaid) order; a paid order is refunded instead."""
    return _transition(order, S.CANCELLED, Cause.BUYER_CANCELLED, at=at, detail=detail)


def refund(order: Order, *, at: datetime, detail: str) -> Order:
    """Return a paid order's money before fulfilment; ``detail`` says why. Fulfilled orders are final."""
    if not isinstance(detail, str) or not detail.strip():
        raise InvalidOrder("a refund needs a reason", field="detail")
    return _transition(order, S.REFUNDED, Cause.REFUND, at=at, detail=detail, refunded_fen=order.paid_fen)


def fulfil(order: Order, *, at: datetime, detail: str = "") -> Order:
    """Mark a paid order fulfilled once its ledger entries (retire, or transfer for enterprises) exist."""
    return _transition(order, S.FULFILLED, Cause.FULFIL, at=at, detail=detail)


# Queries.


def needs_stock_decision(order: Order) -> bool:
    """Whether :func:`record_payment` needs ``stock_available`` for this order (a payment after expiry)."""
    return order.state is S.EXPIRED


def next_states(state: OrderState) -> list[OrderState]:
    return sorted({t.target for t in TRANSITIONS if t.source is state})


def replay(events: Iterable[OrderEvent]) -> OrderState:
    """The state a history leads to from ``created``; refuses a history that breaks the transitions."""
    state = S.CREATED
    previous_at: datetime | None = None
    for index, event in enumerate(events):
        if event.source is not state or (event.source, event.target, event.cause) not in _ALLOWED:
            raise TransitionRefused(
                f"event {index} goes {event.source.value} → {event.target.value} ({event.cause.value}) "
                f"from state {state.value}",
                field="events",
            )
        if previous_at is not None and event.at < previous_at:
            raise TransitionRefused(f"event {index} is earlier than the one before it", field="events")
        state, previous_at = event.target, event.at
    return state


# Checks and the one place an order changes state.


def _transition(
    order: Order,
    target: OrderState,
    cause: Cause,
    *,
    at: datetime,
    detail: str,
    provider_event_id: str | None = None,
    paid_fen: int = 0,
    refunded_fen: int = 0,
) -> Order:
    if (order.state, target, cause) not in _ALLOWED:
        allowed = next_states(order.state)
        if order.state in TERMINAL_STATES:
            hint = "; it is final"
        else:
            hint = f"; it can become {', '.join(state.value for state in allowed)}"
        raise TransitionRefused(
            f"a {order.state.value} order cannot become {target.value} by {cause.value}{hint}", field="state"
        )
    _check_text(detail, "detail")
    _check_at(order, at)
    event = OrderEvent(
        source=order.state,
        target=target,
        at=at,
        cause=cause,
        detail=detail.strip(),
        provider_event_id=provider_event_id,
        paid_fen=paid_fen,
        refunded_fen=refunded_fen,
    )
    changed = replace(order, state=target, events=(*order.events, event))
    # Postconditions: money is conserved and the history explains the state.
    assert changed.kept_fen == (changed.price_fen if target in PAID_STATES else 0), changed
    assert changed.refunded_fen in {0, changed.paid_fen}
    assert replay(changed.events) is target
    return changed


def _remember(order: Order, provider_event_id: str) -> Order:
    if len(order.processed_provider_event_ids) >= MAX_PROVIDER_EVENTS_PER_ORDER:
        raise InvalidOrder(
            f"an order processes at most {MAX_PROVIDER_EVENTS_PER_ORDER} provider events",
            field="provider_event_id",
        )
    return replace(
        order, processed_provider_event_ids=order.processed_provider_event_ids | {provider_event_id}
    )


def _is_utc(at: object) -> bool:
    return isinstance(at, datetime) and at.tzinfo is not None and at.utcoffset() == timedelta(0)


def _check_utc(at: object) -> None:
    if not _is_utc(at):
        raise InvalidOrder("must be a UTC time with its time zone", field="at")


def _check_at(order: Order, at: datetime) -> None:
    _check_utc(at)
    if at < order.last_at:
        raise InvalidOrder("must not be earlier than the order's last event", field="at")


def _check_identifier(value: object, field: str) -> None:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= limits.MAX_REQUEST_ID_CHARS
        or not IDENTIFIER.fullmatch(value)
    ):
        raise InvalidOrder(
            f"must be 1-{limits.MAX_REQUEST_ID_CHARS} characters of letters, digits and ._:/@-", field=field
        )


def _check_quantity_kg(value: object, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limits.MAX_QUANTITY_KG:
        raise InvalidOrder(f"must be a whole number of kilograms, 1 to {limits.MAX_QUANTITY_KG}", field=field)


def _check_amount(value: object, field: str) -> None:
    try:
        check_amount_fen(value, field)
    except MoneyError as error:
        raise InvalidOrder(error.message, field=field) from error


def _check_text(value: object, field: str) -> None:
    if not isinstance(value, str):
        raise InvalidOrder("must be text", field=field)
    if len(value.strip()) > MAX_DETAIL_CHARS:
        raise InvalidOrder(f"must be at most {MAX_DETAIL_CHARS} characters", field=field)
