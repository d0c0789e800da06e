"""Payments racing for one order on PostgreSQL: each is processed once, and the order is fulfilled once.

Stripe may deliver an event again while the first delivery is still being processed (a timeout on its side,
two regions); and a buyer may pay by card while the registry records a bank transfer for the same order.
Each request here is its own thread with its own test client, released together by a barrier: every
delivery answers 200, exactly one payment is taken, the other is refunded or refused, and the ledger holds
one fulfilment entry for the order.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import stripe
from api_support import API, ledger, make_party
from flask import Flask
from flask.testing import FlaskClient
from market_support import add_lot, individual_order, pay
from sqlalchemy import func, select
from stripe_support import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, LocalStripe, sign_payload
from tests_support import ORIGIN, migrate
from werkzeug.test import TestResponse

from ledger.models import Entry
from marketplace.payments.models import PaymentRefund, WebhookEvent
from web.app import create_app

pytestmark = pytest.mark.pg

DELIVERIES = 6
ROUNDS = 8
TIMEOUT_S = 60


@pytest.fixture
def pg_app(tmp_path: Path, pg_url: str, localstripe: LocalStripe) -> Iterator[Flask]:
    migrate(pg_url)
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": pg_url,
            "TANHUI_SIGNING_KEY_FILE": tmp_path / "signing.key",
            "TANHUI_LEDGER_ORIGIN": ORIGIN,
            "TANHUI_PAYMENT_PROVIDER": "stripe",
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": localstripe.url,
        }
    )
    yield app
    ledger(app).database.dispose()


def succeeded_event(event_id: str, payment_id: str, order: dict[str, Any]) -> bytes:
    """A ``payment_intent.succeeded`` event for the order's payment, as Stripe would send it."""
    event = {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": 1,
        "data": {
            "object": {
                "id": payment_id,
                "object": "payment_intent",
                "amount": order["price_fen"],
                "currency": "cny",
                "metadata": {"order_id": order["id"]},
                "status": "succeeded",
            }
        },
    }
    return json.dumps(event).encode()


def deliver(client: FlaskClient, payload: bytes) -> TestResponse:
    return client.post(
        f"{API}/payments/stripe/webhook",
        data=payload,
        headers={
            "Stripe-Signature": sign_payload(payload, WEBHOOK_SECRET),
            "Content-Type": "application/json",
        },
    )


def at_once(app: Flask, requests: Sequence[Callable[[FlaskClient], TestResponse]]) -> list[TestResponse]:
    """Send the requests from as many threads, each with its own client, released together."""
    barrier = threading.Barrier(len(requests))
    answers: list[Any] = [None] * len(requests)

    def send(index: int) -> None:
        own_client = app.test_client()
        try:
            barrier.wait(TIMEOUT_S)
            answers[index] = requests[index](own_client)
        except BaseException as exc:  # asserted on by the test thread
            answers[index] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S)
        assert not thread.is_alive()
    assert not any(isinstance(answer, BaseException) for answer in answers), answers
    return answers


def fulfilment_entries(app: Flask, order_id: str) -> int:
    with ledger(app).database.reading() as session:
        fulfilments = (
            select(func.count()).select_from(Entry).where(Entry.request_id == f"order:{order_id}:fulfil")
        )
        return session.scalar(fulfilments)


def test_one_event_delivered_six_times_at_once_is_processed_once(pg_app):
    add_lot(pg_app, "L-1", "YY01", "513423", "川西南", 1_000, 50_000)
    client = pg_app.test_client()
    order = individual_order(client).get_json()
    payment = client.post(f"{API}/orders/{order['id']}/payments").get_json()
    payload = succeeded_event("evt_concurrent_1", payment["payment_id"], order)

    answers = at_once(pg_app, [lambda own: deliver(own, payload)] * DELIVERIES)

    assert all(answer.status_code == 200 for answer in answers), answers
    assert sorted(answer.get_json()["replayed"] for answer in answers) == [False] + [True] * (DELIVERIES - 1)
    with ledger(pg_app).database.reading() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    assert fulfilment_entries(pg_app, order["id"]) == 1
    after = client.get(f"{API}/orders/{order['id']}").get_json()
    assert after["state"] == "fulfilled"
    assert [e["cause"] for e in after["events"]] == ["reserve", "payment_succeeded", "fulfil"]


def test_a_card_payment_and_an_invoice_payment_at_once_take_one_and_give_the_other_back(pg_app, localstripe):
    """The order's row lock puts one payment after the other, whichever comes first: the later one finds
    the order paid and is refunded at Stripe (the card) or refused (the invoice), and neither fails."""
    add_lot(pg_app, "L-1", "YY01", "513423", "川西南", 1_000, 50_000)
    client = pg_app.test_client()
    admin = make_party(pg_app, client, "四川省林草碳汇登记中心", "registry", "registry_admin")
    stripe_client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe.url})
    for round_ in range(ROUNDS):
        order = individual_order(client).get_json()
        payment = client.post(f"{API}/orders/{order['id']}/payments").get_json()
        stripe_client.v1.payment_intents.update(
            payment["payment_id"], params={"payment_method": "pm_card_visa"}
        )
        assert stripe_client.v1.payment_intents.confirm(payment["payment_id"]).status == "succeeded"
        payload = succeeded_event(f"evt_race_{round_}", payment["payment_id"], order)

        card, invoice = at_once(
            pg_app,
            [
                lambda own, payload=payload: deliver(own, payload),
                lambda own, order=order, reference=f"BANK-{round_}": pay(
                    replace(admin, client=own), order, reference=reference
                ),
            ],
        )

        assert card.status_code == 200, card.get_json()
        after = client.get(f"{API}/orders/{order['id']}").get_json()
        assert after["state"] == "fulfilled"
        assert [e["cause"] for e in after["events"]] == ["reserve", "payment_succeeded", "fulfil"]
        assert fulfilment_entries(pg_app, order["id"]) == 1
        with ledger(pg_app).database.reading() as session:
            refunds = session.scalars(
                select(PaymentRefund).where(PaymentRefund.order_id == order["id"])
            ).all()
            owed = [(r.reason, r.status, r.amount_fen, r.provider_payment_id) for r in refunds]
        if invoice.status_code == 200:
            assert "owed (duplicate_payment)" in card.get_json()["outcome"], card.get_json()
            assert owed == [("duplicate_payment", "succeeded", order["price_fen"], payment["payment_id"])]
        else:
            assert invoice.status_code == 409, invoice.get_json()
            assert invoice.get_json()["type"].endswith("/duplicate-payment"), invoice.get_json()
            assert owed == []
