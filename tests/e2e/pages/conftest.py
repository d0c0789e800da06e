"""Fixtures for the pages' test-client tests: one app per module on a migrated SQLite database with the demo
registry loaded (projects in all five zones, lots, retirements, a signed checkpoint)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from tests_support import make_demo_app

from api.context import ledger_service


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = make_demo_app(str(tmp_path_factory.mktemp("pages")))
    yield app
    with app.app_context():
        ledger_service().database.dispose()


@pytest.fixture
def client(demo_app: Flask) -> FlaskClient:
    """A fresh browser: no cookies, so no language chosen and no session yet."""
    return demo_app.test_client()
