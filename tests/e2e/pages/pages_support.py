"""Helpers for the pages' tests: an app with the demo registry, reading forms, buying, paying (demo)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from tests_support import ORIGIN, migrate

from api.context import ledger_service
from web.app import create_app
from web.demo import load_demo


def make_demo_app(instance_path: str, **overrides: object) -> Flask:
    url = f"sqlite:///{instance_path}/pages.db"
    migrate(url)
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": instance_path,
            "DATABASE_URL": url,
            "TANHUI_SIGNING_KEY_FILE": f"{instance_path}/signing.key",
            "TANHUI_LEDGER_ORIGIN": ORIGIN,
            "TANHUI_DEMO_PAYMENTS": True,
            **overrides,
        }
    )
    with app.app_context():
        load_demo(ledger_service())
    return app


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def shop_form(client: FlaskClient) -> dict[str, str]:
    html = client.get("/shop").get_data(as_text=True)
    return {"csrf_token": hidden(html, "csrf_token"), "request_key": hidden(html, "request_key")}


def buy(client: FlaskClient, **fields: Any) -> Any:
    return client.post("/shop", data=shop_form(client) | {"quantity_kg": "25", "name": "王小明"} | fields)


def pay_demo(client: FlaskClient, order_path: str) -> Any:
    html = client.get(order_path).get_data(as_text=True)
    return client.post(
        f"{order_path}/demo-payment",
        data={"csrf_token": hidden(html, "csrf_token"), "reference": hidden(html, "reference")},
    )


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no element #{element_id}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()
