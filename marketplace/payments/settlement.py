"""Settlement: what a provider's report on a payment does to its order, and what is then owed at the provider.

The rules are pure functions on :class:`~marketplace.orders.Order` (:func:`decide_payment`,
:func:`decide_failure`, :func:`decide_refund_request`), tested without a database; the functions that take
a session (:func:`start_payment`, :func:`apply_event`, :func:`request_refund`) load and lock the order
through :mod:`marketplace.order_store`, apply one decision, and write it back in the caller's unit of work:

- **succeeded** → the payment is recorded with the provider's event id as its idempotency key, then the
  order is fulfilled on the ledger (request id ``order:<id>:fulfil``). A payment after the reservation
  expired re-reserves the same lots if they still have the stock, and is otherwise refunded; a payment for
  a cancelled order, a second payment for an order already paid, or one that does not match the order's
  price is refunded at the provider — money is never kept without credits, never lost.
- **failed / canceled** → a reserved order is cancelled and its stock released; the intent is then
  cancelled at the provider, so a retry is a new order (marketplace/orders.py explains why).
- **refund requested** → a paid order not yet fulfilled is refunded; a fulfilled one is refused, since its
  credits are retired or transferred on the ledger and an order never undoes a ledger entry.

Side effects at the provider never happen inside the unit of work. A refund owed is a
:class:`~marketplace.payments.models.PaymentRefund` row written in the same transaction as the order's
change (an outbox): if the commit fails, neither exists; once it succeeds, the caller delivers the refund
(:mod:`marketplace.payments.refunds`), and a scheduled job delivers whatever a crash left pending — with
the row's request id as Stripe's idempotency key, so a delivery repeated refunds once. Cancelling an intent
after a failure is a best-effort call after the commit: if it is lost, a later success is refunded anyway.
The one provider call made while the unit of work is open is the creation of an intent
(:func:`start_payment`): it needs the order locked so that two starts do not open two intents, and its
idempotency key (order id and attempt number) makes a retry after a failed commit find the same intent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.errors import LedgerError
from ledger.sequencer import Sequencer
from marketplace import order_notes as notes
from marketplace import order_store
from marketplace import orders as machine
from marketplace.models import MarketOrder
from marketplace.orders import Cause, DuplicatePayment, Order, OrderError, OrderState
from marketplace.payments.models import PaymentAttempt, PaymentRefund, WebhookEvent
from marketplace.payments.provider import CURRENCY, EventKind, PaymentProvider, ProviderEvent, StartedPayment

MAX_OUTCOME_CHARS = 1000


class PaymentRefused(OrderError):
    """A payment cannot be started for the order in its state."""

    code = "payment-refused"
    status = 409


class RefundRefused(OrderError):
    """A refund that the order's state does not allow (fulfilled, or nothing paid)."""

    code = "refund-refused"
    status = 409


# --- the rules, pure ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentDecision:
    """What a succeeded payment does: the order after it, whether to fulfil, and any refund owed."""

    order: Order
    fulfil: bool
    refund_reason: str | None
    note: str


def decide_payment(
    order: Order,
    *,
    provider_event_id: str,
    amount_fen: int,
    at: datetime,
    stock_available: bool | None,
    detail: str = "",
) -> PaymentDecision:
    """Apply a succeeded payment to the order, or say why its money must go back.

    ``stock_available`` is the caller's answer for an order past expiry (``None`` otherwise). A payment
    the order cannot take (a second one, a wrong amount, an order never reserved) leaves the order
    unchanged and is refunded; so is a payment that comes too late for the stock.
    """
    try:
        after = machine.record_payment(
            order,
            provider_event_id=provider_event_id,
            amount_fen=amount_fen,
            at=at,
            stock_available=stock_available,
            detail=detail,
        )
    except DuplicatePayment as error:
        return PaymentDecision(order, fulfil=False, refund_reason="duplicate_payment", note=error.message)
    except OrderError as error:
        if error.field == "stock_available":
            raise  # a programmer's mistake: the caller decides stock for an expired order
        return PaymentDecision(order, fulfil=False, refund_reason="unmatched_payment", note=str(error))
    if after is order:
        return PaymentDecision(order, fulfil=False, refund_reason=None, note="already processed")
    if after.state is OrderState.PAID:
        late = order.state is OrderState.EXPIRED
        note = "paid after expiry; re-reserved" if late else "paid"
        return PaymentDecision(after, fulfil=True, refund_reason=None, note=note)
    assert after.state is OrderState.REFUNDED, after.state
    assert after.events[-1].cause is Cause.LATE_PAYMENT_REFUNDED
    note = f"paid when {order.state.value}; refunded"
    return PaymentDecision(after, fulfil=False, refund_reason="late_payment", note=note)


@dataclass(frozen=True)
class FailureDecision:
    order: Order
    cancel_at_provider: bool
    note: str


def decide_failure(
    order: Order, *, provider_event_id: str, at: datetime, detail: str = ""
) -> FailureDecision:
    """A failed or cancelled payment: a reserved order is cancelled (and its intent with it)."""
    after = machine.record_payment_failure(order, provider_event_id=provider_event_id, at=at, detail=detail)
    if after.state is OrderState.CANCELLED and order.state is OrderState.RESERVED:
        return FailureDecision(after, cancel_at_provider=True, note="payment failed; order cancelled")
    return FailureDecision(after, cancel_at_provider=False, note=f"payment failed; order stays {after.state}")


def decide_refund_request(order: Order, *, at: datetime, detail: str) -> Order:
    """Refund a paid order before fulfilment; a refunded order is returned unchanged (a repeat)."""
    if order.state is OrderState.REFUNDED:
        return order
    if order.state is OrderState.FULFILLED:
        raise RefundRefused(
            "the order is fulfilled: its credits are retired or transferred on the ledger, which an order "
            "never undoes; a fulfilled order cannot be refunded",
            field="state",
        )
    if order.state is not OrderState.PAID:
        raise RefundRefused(
            f"nothing was paid for this {order.state.value} order, so there is nothing to refund",
            field="state",
        )
    return machine.refund(order, at=at, detail=detail)


# --- starting a payment ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentStart:
    attempt_id: int
    started: StartedPayment
    created: bool


def start_payment(
    session: Session, provider: PaymentProvider, row: MarketOrder, *, now: datetime
) -> PaymentStart:
    """Open a payment for a reserved order, or give back the one already open for it at this provider."""
    order, now = order_store.lock_and_load(session, row, now=now)
    if order.state is not OrderState.RESERVED:
        raise PaymentRefused(
            f"only a reserved order can be paid; this one is {order.state.value}", field="state"
        )
    open_attempt = session.scalar(
        select(PaymentAttempt)
        .where(
            PaymentAttempt.order_id == row.id,
            PaymentAttempt.provider == provider.name,
            PaymentAttempt.status == "open",
        )
        .order_by(PaymentAttempt.position.desc())
        .limit(1)
    )
    if open_attempt is not None:
        started = provider.resume_payment(
            open_attempt.provider_payment_id, order_id=row.id, amount_fen=open_attempt.amount_fen
        )
        if started.status != "canceled":
            return PaymentStart(open_attempt.id, started, created=False)
        open_attempt.status, open_attempt.updated_at = "canceled", now
    position = (
        session.scalar(select(func.max(PaymentAttempt.position)).where(PaymentAttempt.order_id == row.id))
        or 0
    ) + 1
    started = provider.start_payment(
        row.id, order.price_fen, idempotency_key=f"tanhui:{row.id}:payment:{position}"
    )
    assert started.amount_fen == order.price_fen, started
    assert started.currency == CURRENCY, started
    attempt = PaymentAttempt(
        order_id=row.id,
        position=position,
        provider=provider.name,
        provider_payment_id=started.provider_payment_id,
        amount_fen=started.amount_fen,
        currency=started.currency,
        status="open",
        created_at=now,
        updated_at=now,
    )
    session.add(attempt)
    session.flush()
    return PaymentStart(attempt.id, started, created=True)


# --- a provider's event ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    """What processing one provider event did, and what the caller must do at the provider after commit."""

    replayed: bool
    outcome: str
    order_id: str | None = None
    order_state: str | None = None
    refund_ids: tuple[int, ...] = ()
    cancel_payment_ids: tuple[str, ...] = ()


def apply_event(session: Session, sequencer: Sequencer, event: ProviderEvent, *, now: datetime) -> Settlement:
    """Apply one provider event, once: a replay of its id finds the first processing and changes nothing.

    The :class:`WebhookEvent` row is written in the same unit of work as the order's change; its unique
    constraint is the last guard against two deliveries of one event processed concurrently.
    """
    seen = session.scalar(
        select(WebhookEvent).where(
            WebhookEvent.provider == event.provider, WebhookEvent.provider_event_id == event.event_id
        )
    )
    if seen is not None:
        state = _state_of(session, seen.order_id)
        return Settlement(replayed=True, outcome=seen.outcome, order_id=seen.order_id, order_state=state)
    attempt = None
    if event.provider_payment_id is not None:
        attempt = session.scalar(
            select(PaymentAttempt).where(
                PaymentAttempt.provider == event.provider,
                PaymentAttempt.provider_payment_id == event.provider_payment_id,
            )
        )
    if event.kind is EventKind.OTHER or attempt is None:
        why = "not a payment outcome" if event.kind is EventKind.OTHER else "no payment of ours"
        return _recorded(session, event, None, now, Settlement(replayed=False, outcome=f"ignored: {why}"))
    row = session.get(MarketOrder, attempt.order_id)
    assert row is not None, attempt.order_id
    if event.kind is EventKind.SUCCEEDED:
        settlement = _settle_success(session, sequencer, event, attempt, row, now=now)
    else:
        settlement = _settle_failure(session, event, attempt, row, now=now)
    return _recorded(session, event, row.id, now, settlement)


def _settle_success(
    session: Session,
    sequencer: Sequencer,
    event: ProviderEvent,
    attempt: PaymentAttempt,
    row: MarketOrder,
    *,
    now: datetime,
) -> Settlement:
    order, now = order_store.lock_and_load(session, row, now=now)
    if attempt.status == "succeeded":
        # Stripe sends one succeeded event per intent; another one for it changes nothing.
        return Settlement(False, "ignored: this payment was already settled", row.id, row.state)
    attempt.status, attempt.updated_at = "succeeded", now
    key = f"{event.provider}:{event.event_id}"
    amount_fen = event.amount_fen if event.amount_fen is not None else 0
    detail = notes.PROVIDER_PAYMENT.format(provider=event.provider, payment_id=attempt.provider_payment_id)
    if event.currency != CURRENCY or amount_fen <= 0:
        decision = PaymentDecision(
            order,
            False,
            "unmatched_payment",
            f"a payment of {amount_fen} {event.currency} is not this order's",
        )
    else:
        needs_stock = machine.needs_stock_decision(order)
        decision = decide_payment(
            order,
            provider_event_id=key,
            amount_fen=amount_fen,
            at=now,
            stock_available=True if needs_stock else None,
            detail=detail,
        )
        if needs_stock and decision.order.state is OrderState.PAID:
            # The dry run above accepted the payment; now hold the stock for real, or refund.
            stock = order_store.re_reserve_for_late_payment(session, order, now=now)
            decision = decide_payment(
                order,
                provider_event_id=key,
                amount_fen=amount_fen,
                at=now,
                stock_available=stock,
                detail=detail,
            )
    order_store.save_order(session, row, decision.order)
    note = decision.note
    if decision.fulfil:
        note += "; " + _fulfil(session, sequencer, row, now=now)
    refund_ids: tuple[int, ...] = ()
    if decision.refund_reason is not None:
        refund = owe_refund(
            session,
            order_id=row.id,
            provider=attempt.provider,
            provider_payment_id=attempt.provider_payment_id,
            amount_fen=amount_fen if amount_fen > 0 else attempt.amount_fen,
            reason=decision.refund_reason,
            detail=decision.note,
            now=now,
        )
        refund_ids = (refund.id,)
        note += f"; refund {refund.request_id} owed ({decision.refund_reason})"
    return Settlement(False, note, row.id, row.state, refund_ids=refund_ids)


def _settle_failure(
    session: Session, event: ProviderEvent, attempt: PaymentAttempt, row: MarketOrder, *, now: datetime
) -> Settlement:
    order, now = order_store.lock_and_load(session, row, now=now)
    if attempt.status == "open":
        attempt.status = "failed" if event.kind is EventKind.FAILED else "canceled"
        attempt.updated_at = now
    decision = decide_failure(
        order,
        provider_event_id=f"{event.provider}:{event.event_id}",
        at=now,
        detail=(event.detail or event.event_type)[:500],
    )
    order_store.save_order(session, row, decision.order)
    cancel = (attempt.provider_payment_id,) if decision.cancel_at_provider else ()
    return Settlement(False, decision.note, row.id, row.state, cancel_payment_ids=cancel)


def _fulfil(session: Session, sequencer: Sequencer, row: MarketOrder, *, now: datetime) -> str:
    """Fulfil a paid order; if the ledger refuses, the order stays paid (refundable) and the reason is kept.

    The fulfilment runs in a savepoint, so that a refusal undoes only its own writes, not the payment.
    """
    account = order_store.buyer_ledger_account(session, row)
    try:
        with session.begin_nested():
            order_store.fulfil(session, sequencer, row, now=now, ledger_account_of_buyer=account)
    except (OrderError, LedgerError) as error:
        session.refresh(row)
        return f"fulfilment refused, the order stays paid: {error}"
    return f"fulfilled by ledger entry {row.fulfilment_seq}"


def _recorded(
    session: Session, event: ProviderEvent, order_id: str | None, now: datetime, settlement: Settlement
) -> Settlement:
    session.add(
        WebhookEvent(
            provider=event.provider,
            provider_event_id=event.event_id,
            event_type=event.event_type,
            provider_payment_id=event.provider_payment_id,
            order_id=order_id,
            received_at=now,
            outcome=settlement.outcome[:MAX_OUTCOME_CHARS],
        )
    )
    session.flush()
    return settlement


def _state_of(session: Session, order_id: str | None) -> str | None:
    if order_id is None:
        return None
    return session.scalar(select(MarketOrder.state).where(MarketOrder.id == order_id))


# --- refunds --------------------------------------------------------------------------------------------


def owe_refund(
    session: Session,
    *,
    order_id: str,
    provider: str,
    provider_payment_id: str,
    amount_fen: int,
    reason: str,
    detail: str,
    now: datetime,
) -> PaymentRefund:
    """Record that ``provider_payment_id`` must be refunded in full (once: a second call finds the first)."""
    existing = session.scalar(
        select(PaymentRefund).where(
            PaymentRefund.provider == provider, PaymentRefund.provider_payment_id == provider_payment_id
        )
    )
    if existing is not None:
        return existing
    refund = PaymentRefund(
        request_id=f"refund:{provider}:{provider_payment_id}",
        order_id=order_id,
        provider=provider,
        provider_payment_id=provider_payment_id,
        amount_fen=amount_fen,
        reason=reason,
        detail=detail[:MAX_OUTCOME_CHARS],
        requested_at=now,
        status="pending",
        delivery_attempts=0,
    )
    session.add(refund)
    session.flush()
    return refund


@dataclass(frozen=True)
class RefundRequest:
    order: Order
    refund_ids: tuple[int, ...]
    repeated: bool


def request_refund(session: Session, row: MarketOrder, *, now: datetime, detail: str) -> RefundRequest:
    """Refund a paid, unfulfilled order at whichever provider took its money; a repeat changes nothing."""
    before, now = order_store.lock_and_load(session, row, now=now)
    after = decide_refund_request(before, at=now, detail=detail)
    if after is before:
        ids = session.scalars(select(PaymentRefund.id).where(PaymentRefund.order_id == row.id)).all()
        return RefundRequest(after, tuple(ids), repeated=True)
    provider, payment_id = _paying_payment(session, before)
    order_store.save_order(session, row, after)
    refund = owe_refund(
        session,
        order_id=row.id,
        provider=provider,
        provider_payment_id=payment_id,
        amount_fen=before.paid_fen - before.refunded_fen,
        reason="requested",
        detail=detail,
        now=now,
    )
    return RefundRequest(after, (refund.id,), repeated=False)


def _paying_payment(session: Session, order: Order) -> tuple[str, str]:
    """The provider and payment id whose money a paid order holds, from its payment's event key."""
    [paying] = [event for event in order.events if event.cause is Cause.PAYMENT_SUCCEEDED][-1:]
    assert paying.provider_event_id is not None
    provider, _, event_id = paying.provider_event_id.partition(":")
    if provider == "invoice":
        return "invoice", paying.provider_event_id
    payment_id = session.scalar(
        select(WebhookEvent.provider_payment_id).where(
            WebhookEvent.provider == provider, WebhookEvent.provider_event_id == event_id
        )
    )
    assert payment_id is not None, paying.provider_event_id
    return provider, payment_id
