"""Fixtures for the supply side's API tests: an app on a migrated SQLite database, and one party per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import OWNER_CREDIT_CODE, Party, add_key, ledger, make_party
from flask import Flask
from flask.testing import FlaskClient
from market_support import ENTERPRISE_CREDIT_CODE, add_lot
from response_conformance import documented_responses
from tests_support import ORIGIN, migrate

from web.app import create_app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    migrate(url)
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": url,
            "TANHUI_SIGNING_KEY_FILE": tmp_path / "signing.key",
            "TANHUI_LEDGER_ORIGIN": ORIGIN,
        }
    )
    with documented_responses(app):
        yield app
    ledger(app).database.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin(app: Flask, client: FlaskClient) -> Party:
    return make_party(app, client, "四川省林草碳汇登记中心", "registry", "registry_admin")


@pytest.fixture
def reviewer(app: Flask, client: FlaskClient, admin: Party) -> Party:
    return add_key(app, client, admin.organisation_id, "reviewer")


@pytest.fixture
def verifier(app: Flask, client: FlaskClient) -> Party:
    return make_party(app, client, "四川省林业勘察设计研究院核查中心", "verifier", "verifier")


@pytest.fixture
def owner(app: Flask, client: FlaskClient) -> Party:
    return make_party(
        app, client, "凉山州林业投资有限公司", "project_owner", "project_owner", credit_code=OWNER_CREDIT_CODE
    )


@pytest.fixture
def other_owner(app: Flask, client: FlaskClient) -> Party:
    return make_party(app, client, "宜宾竹业合作社", "project_owner", "project_owner")


@pytest.fixture
def market(app: Flask) -> Flask:
    # 盐源县 (a former poverty county) and 锦江区 (not one).
    add_lot(app, "L-1", "YY01", "513423", "川西南", 10_000, 50_000)
    add_lot(app, "L-2", "JJ01", "510104", "川中", 10_000, 80_000)
    return app


@pytest.fixture
def enterprise(app: Flask, client: FlaskClient) -> Party:
    return make_party(
        app,
        client,
        "成都绿色制造有限公司",
        "enterprise",
        "enterprise_buyer",
        credit_code=ENTERPRISE_CREDIT_CODE,
    )


@pytest.fixture
def other_enterprise(app: Flask, client: FlaskClient) -> Party:
    return make_party(app, client, "绵阳电子有限公司", "enterprise", "enterprise_buyer")
