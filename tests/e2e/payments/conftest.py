"""Fixtures for Stripe payments end to end: localstripe for the session, the app live on loopback per test.

The app is configured for Stripe (``TANHUI_PAYMENT_PROVIDER=stripe``) with ``STRIPE_API_BASE`` pointing
the real SDK at localstripe, and is served on a real port so that localstripe's signed webhooks reach it.
The parties and lots are made with the API tests' helpers (tests/e2e/api/api_support.py and
market_support.py). Reservations last one second, so that a test can let one lapse and run the expiry
job at the real time (nothing expires on its own: the scheduler is off).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe
from flask import Flask
from flask.testing import FlaskClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from api_support import Party, ledger, make_party
from market_support import ENTERPRISE_CREDIT_CODE, add_lot
from response_conformance import documented_responses
from stripe_support import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    LiveServer,
    LocalStripe,
    start_localstripe,
)
from tests_support import ORIGIN, migrate

from web.app import create_app


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    emulator = start_localstripe(tmp_path_factory.mktemp("localstripe") / "localstripe.log")
    yield emulator
    emulator.stop()


@pytest.fixture
def stripe_client(localstripe: LocalStripe) -> stripe.StripeClient:
    """The test's own view of localstripe: what a buyer's browser (confirming) and we (checking) see."""
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe.url})


@pytest.fixture
def app(tmp_path: Path, localstripe: LocalStripe) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path / 'payments.db'}"
    migrate(url)
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": url,
            "TANHUI_SIGNING_KEY_FILE": tmp_path / "signing.key",
            "TANHUI_LEDGER_ORIGIN": ORIGIN,
            "TANHUI_RESERVATION_TTL_S": 1,
            "TANHUI_PAYMENT_PROVIDER": "stripe",
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": localstripe.url,
        }
    )
    with documented_responses(app):
        yield app
    ledger(app).database.dispose()


@pytest.fixture
def live_app(app: Flask, localstripe: LocalStripe) -> Iterator[Flask]:
    """The app on a loopback port, registered as localstripe's webhook endpoint for this test."""
    server = LiveServer(app)
    localstripe.register_webhook("tanhui", f"{server.url}/api/v1/payments/stripe/webhook", WEBHOOK_SECRET)
    yield app
    server.stop()


@pytest.fixture
def client(live_app: Flask) -> FlaskClient:
    return live_app.test_client()


@pytest.fixture
def market(live_app: Flask) -> Flask:
    # 盐源县 (a former poverty county) and 锦江区 (not one).
    add_lot(live_app, "L-1", "YY01", "513423", "川西南", 10_000, 50_000)
    add_lot(live_app, "L-2", "JJ01", "510104", "川中", 10_000, 80_000)
    return live_app


@pytest.fixture
def admin(live_app: Flask, client: FlaskClient) -> Party:
    return make_party(live_app, client, "四川省林草碳汇登记中心", "registry", "registry_admin")


@pytest.fixture
def enterprise(live_app: Flask, client: FlaskClient) -> Party:
    return make_party(
        live_app,
        client,
        "成都绿色制造有限公司",
        "enterprise",
        "enterprise_buyer",
        credit_code=ENTERPRISE_CREDIT_CODE,
    )
