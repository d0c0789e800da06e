"""Stripe end to end: the real SDK against localstripe, its signed webhooks delivered to the app on loopback.

A buyer's browser is played by the test: it confirms the PaymentIntent at localstripe with a test card
(``pm_card_visa``; ``pm_card_chargeCustomerFail`` is localstripe's card that is declined when charged —
its ``4000000000000002`` / ``pm_card_visa_chargeDeclined`` is declined only when attached to a customer).
"""

from __future__ import annotations

import json
import time

import pytest
import stripe
from api_support import API, add_key, ledger
from market_support import individual_order, pay
from sqlalchemy import func, select, update
from stripe_support import WEBHOOK_SECRET, free_port, sign_payload, wait_for

from ledger.models import Entry
from marketplace.models import LotReservation
from marketplace.payments.models import PaymentAttempt, PaymentRefund, WebhookEvent
from marketplace.payments.stripe_provider import StripeProvider
from offsets.models import Organisation
from web.scheduler import deliver_refunds_job, expire_reservations_job

WEBHOOK = f"{API}/payments/stripe/webhook"


def start_payment(client, order_id, **kwargs):
    return client.post(f"{API}/orders/{order_id}/payments", **kwargs)


def confirm_with(stripe_client, payment_id, payment_method):
    """What Stripe.js does in the buyer's browser: attach the card and confirm the intent."""
    stripe_client.v1.payment_intents.update(payment_id, params={"payment_method": payment_method})
    return stripe_client.v1.payment_intents.confirm(payment_id)


def order_in_state(client, order_id, state, headers=None):
    def probe():
        order = client.get(f"{API}/orders/{order_id}", headers=headers or {}).get_json()
        return order if order["state"] == state else None

    return wait_for(probe)


def webhook_events(app, payment_id):
    """How many provider events about this payment the app has processed."""
    with ledger(app).database.reading() as session:
        return session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.provider_payment_id == payment_id)
        )


def fulfilment_entries(app, order_id):
    with ledger(app).database.reading() as session:
        return session.scalar(
            select(func.count()).select_from(Entry).where(Entry.request_id == f"order:{order_id}:fulfil")
        )


def refunds_at_stripe(stripe_client, payment_id):
    return stripe_client.v1.refunds.list(params={"payment_intent": payment_id}).data


def paid_order(client, stripe_client, **changes):
    placed = individual_order(client, **changes)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    started = start_payment(client, order["id"])
    assert started.status_code == 201, started.get_json()
    return order, started.get_json()


def test_a_card_payment_fulfils_the_order_and_its_certificate_exists(market, client, stripe_client):
    order, payment = paid_order(client, stripe_client)
    assert payment["provider"] == "stripe"
    assert payment["payment_id"].startswith("pi_")
    assert payment["client_secret"].startswith(payment["payment_id"] + "_secret_")
    assert payment["publishable_key"] == "pk_test_tanhui"
    assert payment["amount_fen"] == order["price_fen"] == 600
    assert payment["currency"] == "cny"
    assert payment["payment_method_types"] == ["card", "alipay", "wechat_pay"]
    again = start_payment(client, order["id"])
    assert again.status_code == 200
    assert again.get_json()["payment_id"] == payment["payment_id"]  # the same intent while it is open
    intent = stripe_client.v1.payment_intents.retrieve(payment["payment_id"])
    assert intent.amount == 600
    assert intent.metadata["order_id"] == order["id"]

    assert confirm_with(stripe_client, payment["payment_id"], "pm_card_visa").status == "succeeded"

    fulfilled = order_in_state(client, order["id"], "fulfilled")
    assert fulfilled, client.get(f"{API}/orders/{order['id']}").get_json()
    assert fulfilled["paid_fen"] == 600
    assert fulfilled["refunded_fen"] == 0
    assert [event["cause"] for event in fulfilled["events"]] == ["reserve", "payment_succeeded", "fulfil"]
    certificate = client.get(f"{API}/certificates/{fulfilled['certificate_id']}")
    assert certificate.status_code == 200
    assert certificate.get_json()["quantity_kg"] == 12
    assert fulfilment_entries(market, order["id"]) == 1
    assert start_payment(client, order["id"]).status_code == 409  # a fulfilled order is not paid again


def test_a_declined_card_cancels_the_order_and_releases_its_stock(market, client, stripe_client):
    order, payment = paid_order(client, stripe_client, quantity_kg=9_000)
    with pytest.raises(stripe.CardError):
        confirm_with(stripe_client, payment["payment_id"], "pm_card_chargeCustomerFail")

    cancelled = order_in_state(client, order["id"], "cancelled")
    assert cancelled, client.get(f"{API}/orders/{order['id']}").get_json()
    assert cancelled["events"][-1]["cause"] == "payment_failed"
    assert cancelled["allocation"]["holds_stock"] is False
    assert cancelled["paid_fen"] == 0
    with ledger(market).database.reading() as session:
        held = session.scalar(
            select(func.count())
            .select_from(LotReservation)
            .where(LotReservation.order_id == order["id"], LotReservation.released_at.is_(None))
        )
    assert held == 0
    # The 9,000 kg are for sale again, and the failed intent was cancelled at Stripe after the commit.
    assert individual_order(client, quantity_kg=9_000).status_code == 201
    intent = wait_for(
        lambda: (
            found
            if (found := stripe_client.v1.payment_intents.retrieve(payment["payment_id"])).status
            == "canceled"
            else None
        )
    )
    assert intent is not None


def test_a_replayed_webhook_changes_nothing_and_fulfils_once(market, client, stripe_client):
    order, payment = paid_order(client, stripe_client)
    confirm_with(stripe_client, payment["payment_id"], "pm_card_visa")
    assert order_in_state(client, order["id"], "fulfilled")
    [event] = [
        event
        for event in stripe_client.v1.events.list(params={"type": "payment_intent.succeeded"}).data
        if event.data.object.id == payment["payment_id"]
    ]
    payload = json.dumps(event.to_dict()).encode()
    before = webhook_events(market, payment["payment_id"])

    for _ in range(2):
        replay = client.post(
            WEBHOOK,
            data=payload,
            headers={
                "Stripe-Signature": sign_payload(payload, WEBHOOK_SECRET),
                "Content-Type": "application/json",
            },
        )
        assert replay.status_code == 200, replay.get_json()
        assert replay.get_json()["replayed"] is True
        assert replay.get_json()["order_state"] == "fulfilled"

    assert before == 1
    assert webhook_events(market, payment["payment_id"]) == before
    assert fulfilment_entries(market, order["id"]) == 1
    after = client.get(f"{API}/orders/{order['id']}").get_json()
    assert after["paid_fen"] == 600
    assert [event["cause"] for event in after["events"]] == ["reserve", "payment_succeeded", "fulfil"]


def test_a_forged_or_missing_signature_is_refused_and_changes_nothing(market, client, stripe_client):
    order, payment = paid_order(client, stripe_client)
    forged = {
        "id": "evt_forged",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": payment["payment_id"],
                "object": "payment_intent",
                "amount": 600,
                "currency": "cny",
                "metadata": {"order_id": order["id"]},
                "status": "succeeded",
            }
        },
    }
    payload = json.dumps(forged).encode()
    for headers in (
        {"Stripe-Signature": sign_payload(payload, "whsec_someone_else")},
        {"Stripe-Signature": "t=1,v1=00"},
        {},
    ):
        refused = client.post(WEBHOOK, data=payload, headers=headers | {"Content-Type": "application/json"})
        assert refused.status_code == 400
        assert refused.mimetype == "application/problem+json"
        assert refused.get_json()["field"] == "Stripe-Signature"

    assert webhook_events(market, payment["payment_id"]) == 0
    still = client.get(f"{API}/orders/{order['id']}").get_json()
    assert still["state"] == "reserved"
    assert still["paid_fen"] == 0


def expire(app, order_id):
    time.sleep(1.1)  # the fixtures' reservations last one second
    assert order_id in expire_reservations_job(ledger(app))


def test_a_payment_after_expiry_is_re_reserved_and_fulfilled_when_the_stock_is_still_there(
    market, client, stripe_client
):
    order, payment = paid_order(client, stripe_client)
    expire(market, order["id"])
    assert client.get(f"{API}/orders/{order['id']}").get_json()["state"] == "expired"

    confirm_with(stripe_client, payment["payment_id"], "pm_card_visa")

    fulfilled = order_in_state(client, order["id"], "fulfilled")
    assert fulfilled, client.get(f"{API}/orders/{order['id']}").get_json()
    assert [event["cause"] for event in fulfilled["events"]] == [
        "reserve",
        "reservation_expired",
        "re_reserved_after_late_payment",
        "payment_succeeded",
        "fulfil",
    ]
    assert fulfilled["certificate_id"] is not None
    assert refunds_at_stripe(stripe_client, payment["payment_id"]) == []


def test_a_payment_after_expiry_is_refunded_at_stripe_when_the_stock_is_gone(market, client, stripe_client):
    order, payment = paid_order(client, stripe_client, sourcing={"zone": "川西南"})
    expire(market, order["id"])
    # Someone else reserves all of L-1 (the only lot in 川西南) meanwhile.
    rival = individual_order(client, quantity_kg=10_000, sourcing={"zone": "川西南"})
    assert rival.status_code == 201, rival.get_json()

    confirm_with(stripe_client, payment["payment_id"], "pm_card_visa")

    refunded = order_in_state(client, order["id"], "refunded")
    assert refunded, client.get(f"{API}/orders/{order['id']}").get_json()
    assert refunded["events"][-1]["cause"] == "late_payment_refunded"
    assert refunded["paid_fen"] == refunded["refunded_fen"] == 600
    assert refunded["certificate_id"] is None
    [refund] = wait_for(lambda: refunds_at_stripe(stripe_client, payment["payment_id"]))
    assert refund.amount == 600
    assert refund.status == "succeeded"
    assert fulfilment_entries(market, order["id"]) == 0


def test_a_paid_order_whose_fulfilment_was_refused_is_refunded_on_request_and_shows_at_stripe(
    market, client, stripe_client, enterprise, admin
):
    # An enterprise whose ledger account is not opened yet: the payment succeeds, the transfer cannot.
    with ledger(market).database.unit_of_work() as uow:
        uow.session.execute(
            update(Organisation)
            .where(Organisation.id == enterprise.organisation_id)
            .values(ledger_account_id=None)
        )
        uow.commit()
    placed = enterprise.post(
        "/orders",
        {
            "kind": "enterprise",
            "quantity_kg": 1_000,
            "beneficiary": {"name": "成都绿色制造有限公司"},
            "details": "2026 履约期",
        },
    )
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    started = enterprise.post(f"/orders/{order['id']}/payments", {}, headers={"Idempotency-Key": "pay-1"})
    assert started.status_code == 201, started.get_json()
    payment = started.get_json()
    # A retry with the same Idempotency-Key gets the stored answer.
    retried = enterprise.post(f"/orders/{order['id']}/payments", {}, headers={"Idempotency-Key": "pay-1"})
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert (retried.status_code, retried.get_json()) == (201, payment)
    assert client.post(f"{API}/orders/{order['id']}/payments").status_code == 404  # not the buyer
    confirm_with(stripe_client, payment["payment_id"], "pm_card_visa")
    paid = order_in_state(client, order["id"], "paid", headers=enterprise.headers)
    assert paid, enterprise.get(f"/orders/{order['id']}").get_json()
    assert paid["fulfilment_seq"] is None

    refused = client.post(f"{API}/orders/{order['id']}/refunds", json={"reason": "想退款"})
    assert refused.status_code == 404  # without the buyer's key, an enterprise order does not exist
    refunded = enterprise.post(
        f"/orders/{order['id']}/refunds",
        {"reason": "账户未开立，申请退款"},
        headers={"Idempotency-Key": "refund-1"},
    )
    assert refunded.status_code == 201, refunded.get_json()
    body = refunded.get_json()
    replayed = enterprise.post(
        f"/orders/{order['id']}/refunds",
        {"reason": "账户未开立，申请退款"},
        headers={"Idempotency-Key": "refund-1"},
    )
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.status_code == 201
    assert body["order"]["state"] == "refunded"
    assert body["order"]["refunded_fen"] == body["order"]["paid_fen"] == order["price_fen"]
    [refund] = body["refunds"]
    assert refund["status"] == "succeeded"
    assert refund["reason"] == "requested"
    [at_stripe] = refunds_at_stripe(stripe_client, payment["payment_id"])
    assert at_stripe.id == refund["provider_refund_id"]
    assert at_stripe.amount == order["price_fen"]

    repeated = admin.post(f"/orders/{order['id']}/refunds", {"reason": "again"})
    assert repeated.status_code == 200
    assert len(refunds_at_stripe(stripe_client, payment["payment_id"])) == 1
    with ledger(market).database.reading() as session:
        held = session.scalar(
            select(func.count())
            .select_from(LotReservation)
            .where(LotReservation.order_id == order["id"], LotReservation.released_at.is_(None))
        )
    assert held == 0


def test_a_fulfilled_order_cannot_be_refunded(market, client, stripe_client, admin):
    order, payment = paid_order(client, stripe_client)
    confirm_with(stripe_client, payment["payment_id"], "pm_card_visa")
    assert order_in_state(client, order["id"], "fulfilled")

    for response in (
        client.post(f"{API}/orders/{order['id']}/refunds", json={"reason": "changed my mind"}),
        admin.post(f"/orders/{order['id']}/refunds", {"reason": "changed my mind"}),
    ):
        assert response.status_code == 409
        problem = response.get_json()
        assert problem["field"] == "state"
        assert "fulfilled" in problem["detail"]
    reviewer = add_key(market, client, admin.organisation_id, "reviewer")
    forbidden = reviewer.post(f"/orders/{order['id']}/refunds", {"reason": "changed my mind"})
    assert forbidden.status_code == 403
    assert forbidden.get_json()["field"] == "role"
    assert refunds_at_stripe(stripe_client, payment["payment_id"]) == []


def test_a_second_payment_for_an_order_paid_by_invoice_is_refunded_at_stripe(
    market, client, stripe_client, admin
):
    order, payment = paid_order(client, stripe_client)
    assert pay(admin, order).get_json()["state"] == "fulfilled"

    confirm_with(stripe_client, payment["payment_id"], "pm_card_visa")

    [refund] = wait_for(lambda: refunds_at_stripe(stripe_client, payment["payment_id"]))
    assert refund.amount == 600
    after = client.get(f"{API}/orders/{order['id']}").get_json()
    assert after["state"] == "fulfilled"
    assert after["paid_fen"] == 600
    assert fulfilment_entries(market, order["id"]) == 1
    with ledger(market).database.reading() as session:
        [attempt] = session.scalars(select(PaymentAttempt).where(PaymentAttempt.order_id == order["id"]))
        assert attempt.status == "succeeded"


def test_a_refund_that_cannot_reach_stripe_stays_owed_and_is_delivered_later(
    market, client, stripe_client, localstripe
):
    order, payment = paid_order(client, stripe_client, sourcing={"zone": "川西南"})
    expire(market, order["id"])
    assert individual_order(client, quantity_kg=10_000, sourcing={"zone": "川西南"}).status_code == 201
    # Stripe is unreachable when the late payment's refund falls due (a closed port on loopback).
    providers = market.extensions["tanhui.payments"]
    reachable = providers["stripe"]
    providers["stripe"] = StripeProvider("sk_test_tanhui", api_base=f"http://127.0.0.1:{free_port()}")

    confirm_with(stripe_client, payment["payment_id"], "pm_card_visa")

    assert order_in_state(client, order["id"], "refunded")
    last_error = wait_for(lambda: pending_refund(market, order["id"]))
    assert "could not be reached" in last_error
    assert refunds_at_stripe(stripe_client, payment["payment_id"]) == []

    # The scheduled job's run: everything pending, delivered once with the recorded idempotency key.
    providers["stripe"] = reachable
    for _ in range(2):
        deliver_refunds_job(ledger(market), providers)
    [at_stripe] = refunds_at_stripe(stripe_client, payment["payment_id"])
    assert at_stripe.amount == 600
    with ledger(market).database.reading() as session:
        [row] = session.scalars(select(PaymentRefund).where(PaymentRefund.order_id == order["id"]))
        assert (row.status, row.provider_refund_id) == ("succeeded", at_stripe.id)


def pending_refund(app, order_id):
    """The last delivery error of the order's refund while it is still owed."""
    with ledger(app).database.reading() as session:
        return session.scalar(
            select(PaymentRefund.last_error).where(
                PaymentRefund.order_id == order_id,
                PaymentRefund.status == "pending",
                PaymentRefund.delivery_attempts > 0,
            )
        )
