"""Helpers for the pages' tests: an app with the demo registry, reading forms, buying, paying (demo)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.context import ledger_service
from api.users import create_user
from marketplace import order_store
from marketplace.lots import LotFilters
from marketplace.orders import OrderKind
from offsets.models import Organisation
from offsets.projects import register_organisation


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


# --- signing in (tests/e2e/pages/test_pages_sign_in.py) -------------------------------------------------

PASSWORD = "correct horse battery staple"


def add_organisation(app: Flask, name: str, kind: str) -> int:
    """A new organisation of ``kind`` (with a ledger account where its kind has one); its id."""
    with app.app_context(), ledger_service().database.unit_of_work() as uow:
        organisation_id = register_organisation(uow.session, name, kind).id
        uow.commit()
    return organisation_id


def organisation_named(app: Flask, name: str) -> int:
    with app.app_context(), ledger_service().database.reading() as session:
        found = session.scalar(select(Organisation.id).where(Organisation.name == name))
    assert found is not None, name
    return found


def add_user(app: Flask, email: str, role: str, organisation_id: int | None, name: str = "测试用户") -> int:
    with app.app_context(), ledger_service().database.unit_of_work() as uow:
        user = create_user(
            uow.session,
            email=email,
            display_name=name,
            password=PASSWORD,
            role=role,
            organisation_id=organisation_id,
            now=datetime.now(UTC),
        )
        user_id = user.id
        uow.commit()
    return user_id


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, next_path: str | None = None) -> Any:
    html = client.get("/login").get_data(as_text=True)
    form = {"csrf_token": hidden(html, "csrf_token"), "email": email, "password": password}
    if next_path is not None:
        form["next"] = next_path
    return client.post("/login", data=form)


def sign_out(client: FlaskClient) -> Any:
    html = client.get("/account").get_data(as_text=True)
    return client.post("/logout", data={"csrf_token": hidden(html, "csrf_token")})


def place_organisation_order(
    app: Flask, organisation_id: int, quantity_kg: int, kind: str = "enterprise"
) -> str:
    """A reserved enterprise (or event) order for the organisation, as the API places it."""
    order_kind = OrderKind(kind)
    with app.app_context(), ledger_service().database.unit_of_work() as uow:
        row = order_store.place_and_reserve(
            uow.session,
            order_store.NewOrder(
                kind=order_kind,
                quantity_kg=quantity_kg,
                buyer_organisation_id=organisation_id,
                buyer_display_name="采购部",
                beneficiary_name="测试企业",
                beneficiary_public=True,
                reason=order_store.REASON_BY_KIND[order_kind],
                details="2026 年度履约",
                filters=LotFilters(),
            ),
            now=datetime.now(UTC),
            ttl_s=3600,
        )
        order_id = row.id
        uow.commit()
    return order_id
