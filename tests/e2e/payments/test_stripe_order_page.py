"""The micro-sink order page paid with Stripe: the page opens the order's PaymentIntent and mounts the
Payment Element; Stripe's signed webhook (from localstripe, on loopback) fulfils the order, and the page
then links the certificate."""

from __future__ import annotations

import html
import re

from market_support import individual_order
from stripe_support import PUBLISHABLE_KEY
from test_stripe_payments import confirm_with, order_in_state


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, name
    return html.unescape(match.group(1))


def data_attribute(page: str, name: str) -> str:
    match = re.search(rf'data-{name}="([^"]*)"', page)
    assert match, name
    return html.unescape(match.group(1))


def test_the_order_page_pays_by_card_through_stripe_and_then_shows_the_certificate(
    market, client, stripe_client
):
    order = individual_order(client).get_json()
    page = client.get(f"/orders/{order['id']}?lang=zh").get_data(as_text=True)
    assert 'id="pay-card"' in page
    assert "银行卡、支付宝或微信支付" in page
    token = hidden(page, "csrf_token")

    opened = client.post(
        f"/orders/{order['id']}/card-payment", data={"csrf_token": hidden(page, "csrf_token")}
    )

    assert opened.status_code == 200
    page = opened.get_data(as_text=True)
    client_secret = data_attribute(page, "client-secret")
    payment_id = client_secret.split("_secret_")[0]
    assert payment_id.startswith("pi_")
    assert data_attribute(page, "publishable-key") == PUBLISHABLE_KEY
    assert data_attribute(page, "return-url").endswith(f"/orders/{order['id']}")
    assert "/js.stripe.com/v3/" in page
    assert "stripe-payment.js" in page
    intent = stripe_client.v1.payment_intents.retrieve(payment_id)
    assert (intent.amount, intent.currency, intent.metadata["order_id"]) == (600, "cny", order["id"])
    # Opening the page again offers the same intent, not a second one.
    again = client.post(
        f"/orders/{order['id']}/card-payment", data={"csrf_token": hidden(page, "csrf_token")}
    )
    assert data_attribute(again.get_data(as_text=True), "client-secret") == client_secret

    # What Stripe.js does in the buyer's browser; the webhook then fulfils the order.
    assert confirm_with(stripe_client, payment_id, "pm_card_visa").status == "succeeded"

    fulfilled = order_in_state(client, order["id"], "fulfilled")
    assert fulfilled
    page = client.get(f"/orders/{order['id']}").get_data(as_text=True)
    assert 'id="certificate-link"' in page
    assert 'id="pay-card"' not in page

    # A card payment opened from a page left open before the payment is refused, in the page's language.
    refused = client.post(f"/orders/{order['id']}/card-payment", data={"csrf_token": token})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert 'data-code="payment-refused"' in page
    assert "只有已预留、尚未付款的订单才能付款" in page
    assert "only a reserved order can be paid; this one is fulfilled" in page


def test_a_card_payment_without_the_forms_token_is_refused(market, client):
    order = individual_order(client).get_json()

    refused = client.post(f"/orders/{order['id']}/card-payment", data={})

    assert refused.status_code == 400
    assert order_in_state(client, order["id"], "reserved")
