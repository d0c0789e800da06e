"""Settlement's rules without a database or a network: what a provider's report does to an order, what is
owed back at the provider, and how a Stripe event is read and its signature checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from stripe_support import sign_payload

from marketplace.orders import (
    Cause,
    LotHold,
    Order,
    OrderKind,
    OrderState,
    expire_if_due,
    fulfil,
    place_order,
    record_payment,
    record_payment_failure,
    reserve,
)
from marketplace.payments.invoice import InvoiceProvider
from marketplace.payments.provider import EventKind
from marketplace.payments.settlement import (
    RefundRefused,
    decide_failure,
    decide_payment,
    decide_refund_request,
)
from marketplace.payments.stripe_provider import WebhookRefused, event_from_stripe, verify_webhook

S = OrderState
T0 = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
TTL_S = 900
PRICE_FEN = 600
SECRET = "whsec_unit"


def reserved() -> Order:
    order = place_order("O-1", OrderKind.INDIVIDUAL, 12, PRICE_FEN, at=T0)
    return reserve(order, [LotHold("L-1", 12)], at=T0, ttl_s=TTL_S)


def expired() -> Order:
    return expire_if_due(reserved(), T0 + timedelta(seconds=TTL_S))


def paid(key: str = "stripe:evt_1") -> Order:
    return record_payment(
        reserved(), provider_event_id=key, amount_fen=PRICE_FEN, at=T0 + timedelta(minutes=1)
    )


LATER = T0 + timedelta(hours=1)


def pay(order: Order, key: str = "stripe:evt_2", *, amount_fen: int = PRICE_FEN, stock: bool | None = None):
    return decide_payment(
        order, provider_event_id=key, amount_fen=amount_fen, at=LATER, stock_available=stock
    )


# --- a succeeded payment --------------------------------------------------------------------------------


def test_a_payment_for_a_reserved_order_pays_it_and_asks_for_fulfilment():
    decision = pay(reserved())
    assert decision.order.state is S.PAID
    assert decision.fulfil is True
    assert decision.refund_reason is None
    assert decision.order.paid_fen == PRICE_FEN


def test_the_same_provider_event_twice_changes_nothing_the_second_time():
    first = pay(reserved(), "stripe:evt_9")
    second = pay(first.order, "stripe:evt_9")
    assert second.order is first.order
    assert second.fulfil is False
    assert second.refund_reason is None


def test_a_late_payment_is_re_reserved_and_fulfilled_when_the_stock_is_still_there():
    decision = pay(expired(), stock=True)
    assert decision.order.state is S.PAID
    assert decision.fulfil is True
    assert [event.cause for event in decision.order.events][-2:] == [
        Cause.RE_RESERVED_AFTER_LATE_PAYMENT,
        Cause.PAYMENT_SUCCEEDED,
    ]


def test_a_late_payment_without_stock_is_refunded_at_the_provider():
    decision = pay(expired(), stock=False)
    assert decision.order.state is S.REFUNDED
    assert decision.fulfil is False
    assert decision.refund_reason == "late_payment"
    assert decision.order.paid_fen == decision.order.refunded_fen == PRICE_FEN


def test_a_payment_for_an_order_cancelled_by_a_failed_payment_is_refunded():
    cancelled = record_payment_failure(
        reserved(), provider_event_id="stripe:evt_f", at=T0 + timedelta(minutes=1)
    )
    decision = pay(cancelled)
    assert decision.order.state is S.REFUNDED
    assert decision.refund_reason == "late_payment"


@pytest.mark.parametrize("state", ["paid", "fulfilled"])
def test_a_second_payment_for_an_order_that_has_its_money_is_refunded_and_the_order_unchanged(state):
    order = paid("invoice:BANK-1")
    if state == "fulfilled":
        order = fulfil(order, at=T0 + timedelta(minutes=2))
    decision = pay(order, "stripe:evt_other")
    assert decision.order is order
    assert decision.fulfil is False
    assert decision.refund_reason == "duplicate_payment"


def test_a_payment_of_the_wrong_amount_is_refunded_and_the_order_unchanged():
    order = reserved()
    decision = pay(order, amount_fen=PRICE_FEN - 1)
    assert decision.order is order
    assert decision.refund_reason == "unmatched_payment"
    assert "amount_fen" in decision.note


def test_the_stock_decision_for_an_expired_order_is_the_callers():
    with pytest.raises(Exception, match="stock"):
        pay(expired(), stock=None)


# --- a failed or cancelled payment ----------------------------------------------------------------------


def test_a_failed_payment_cancels_a_reserved_order_and_its_intent():
    decision = decide_failure(reserved(), provider_event_id="stripe:evt_f", at=LATER)
    assert decision.order.state is S.CANCELLED
    assert decision.order.events[-1].cause is Cause.PAYMENT_FAILED
    assert decision.cancel_at_provider is True


def test_a_failure_reported_after_the_order_was_paid_changes_nothing_but_is_remembered():
    order = paid()
    decision = decide_failure(order, provider_event_id="stripe:evt_late_failure", at=LATER)
    assert decision.order.state is S.PAID
    assert decision.cancel_at_provider is False
    assert "stripe:evt_late_failure" in decision.order.processed_provider_event_ids


# --- a refund on request --------------------------------------------------------------------------------


def test_a_paid_order_is_refunded_in_full_before_fulfilment():
    refunded = decide_refund_request(paid(), at=LATER, detail="buyer asked")
    assert refunded.state is S.REFUNDED
    assert refunded.refunded_fen == refunded.paid_fen == PRICE_FEN
    assert refunded.kept_fen == 0


def test_a_refund_repeated_returns_the_refunded_order_unchanged():
    refunded = decide_refund_request(paid(), at=LATER, detail="buyer asked")
    assert decide_refund_request(refunded, at=LATER, detail="again") is refunded


def test_a_fulfilled_order_cannot_be_refunded_and_the_problem_names_the_state():
    order = fulfil(paid(), at=T0 + timedelta(minutes=2))
    with pytest.raises(RefundRefused) as refused:
        decide_refund_request(order, at=LATER, detail="changed my mind")
    assert refused.value.field == "state"
    assert refused.value.status == 409
    assert "fulfilled" in refused.value.message


@pytest.mark.parametrize("order", [reserved(), expired()], ids=["reserved", "expired"])
def test_an_order_with_nothing_paid_has_nothing_to_refund(order):
    with pytest.raises(RefundRefused, match="nothing was paid"):
        decide_refund_request(order, at=LATER, detail="why not")


# --- Stripe's events ------------------------------------------------------------------------------------


def stripe_event(event_type: str = "payment_intent.succeeded", **intent: object) -> dict:
    obj = {
        "id": "pi_123",
        "object": "payment_intent",
        "amount": PRICE_FEN,
        "currency": "cny",
        "metadata": {"order_id": "O-1"},
        "status": "succeeded",
    } | intent
    return {"id": "evt_1", "object": "event", "type": event_type, "created": 1, "data": {"object": obj}}


def test_a_stripe_event_reads_as_a_provider_event():
    event = event_from_stripe(stripe_event())
    assert event.kind is EventKind.SUCCEEDED
    assert (event.event_id, event.provider_payment_id, event.order_id) == ("evt_1", "pi_123", "O-1")
    assert (event.amount_fen, event.currency) == (PRICE_FEN, "cny")
    failed = event_from_stripe(
        stripe_event(
            "payment_intent.payment_failed", last_payment_error={"message": "Your card was declined."}
        )
    )
    assert failed.kind is EventKind.FAILED
    assert failed.detail == "Your card was declined."
    assert event_from_stripe(stripe_event("charge.refunded")).kind is EventKind.OTHER


def test_a_webhook_verifies_only_with_the_endpoint_secret():
    payload = json.dumps(stripe_event()).encode()
    assert verify_webhook(payload, sign_payload(payload, SECRET), SECRET).event_id == "evt_1"
    for header in (sign_payload(payload, "whsec_other"), "t=1,v1=abc", None, ""):
        with pytest.raises(WebhookRefused) as refused:
            verify_webhook(payload, header, SECRET)
        assert refused.value.field == "Stripe-Signature"
    tampered = payload.replace(b'"amount": 600', b'"amount": 1')
    with pytest.raises(WebhookRefused):
        verify_webhook(tampered, sign_payload(payload, SECRET), SECRET)


def test_an_old_signature_is_refused_as_a_replayed_capture():
    payload = json.dumps(stripe_event()).encode()
    old = sign_payload(payload, SECRET, timestamp=int(datetime.now(UTC).timestamp()) - 3600)
    with pytest.raises(WebhookRefused):
        verify_webhook(payload, old, SECRET)


def test_the_invoice_provider_gives_transfer_instructions_and_refunds_by_hand():
    provider = InvoiceProvider()
    started = provider.start_payment("O-1", 123_456, idempotency_key="k")
    assert started.provider_payment_id == "invoice:O-1"
    assert "1234.56" in (started.instructions or "")
    assert provider.resume_payment("invoice:O-1", order_id="O-1", amount_fen=123_456) == started
    refund = provider.refund("invoice:O-1", 123_456, idempotency_key="refund:invoice:x", order_id="O-1")
    assert refund.status == "manual"
