"""One Stripe event delivered several times at once, on PostgreSQL: processed once, fulfilled once.

Stripe may deliver an event again while the first delivery is still being processed (a timeout on its side,
two regions). Each delivery here is its own thread with its own test client, released together by a
barrier, all carrying the same correctly signed ``payment_intent.succeeded``: every one answers 200, exactly
one processes it, and the ledger holds one fulfilment entry for the order.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import API, ledger
from flask import Flask
from market_support import add_lot, individual_order
from sqlalchemy import func, select
from stripe_support import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, LocalStripe, sign_payload
from tests_support import ORIGIN, migrate

from ledger.models import Entry
from marketplace.payments.models import WebhookEvent
from web.app import create_app

pytestmark = pytest.mark.pg

DELIVERIES = 6
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


def test_one_event_delivered_six_times_at_once_is_processed_once(pg_app):
    add_lot(pg_app, "L-1", "YY01", "513423", "川西南", 1_000, 50_000)
    client = pg_app.test_client()
    order = individual_order(client).get_json()
    payment = client.post(f"{API}/orders/{order['id']}/payments").get_json()
    event = {
        "id": "evt_concurrent_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": 1,
        "data": {
            "object": {
                "id": payment["payment_id"],
                "object": "payment_intent",
                "amount": order["price_fen"],
                "currency": "cny",
                "metadata": {"order_id": order["id"]},
                "status": "succeeded",
            }
        },
    }
    payload = json.dumps(event).encode()
    barrier = threading.Barrier(DELIVERIES)
    answers: list = [None] * DELIVERIES

    def deliver(index: int) -> None:
        own_client = pg_app.test_client()
        try:
            barrier.wait(TIMEOUT_S)
            answers[index] = own_client.post(
                f"{API}/payments/stripe/webhook",
                data=payload,
                headers={
                    "Stripe-Signature": sign_payload(payload, WEBHOOK_SECRET),
                    "Content-Type": "application/json",
                },
            )
        except BaseException as exc:  # asserted on by the test thread
            answers[index] = exc

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(DELIVERIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S)
        assert not thread.is_alive()

    assert all(answer.status_code == 200 for answer in answers), answers
    assert sorted(answer.get_json()["replayed"] for answer in answers) == [False] + [True] * (DELIVERIES - 1)
    with ledger(pg_app).database.reading() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
        fulfilments = (
            select(func.count()).select_from(Entry).where(Entry.request_id == f"order:{order['id']}:fulfil")
        )
        assert session.scalar(fulfilments) == 1
    after = client.get(f"{API}/orders/{order['id']}").get_json()
    assert after["state"] == "fulfilled"
    assert [e["cause"] for e in after["events"]] == ["reserve", "payment_succeeded", "fulfil"]
