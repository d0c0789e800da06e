"""The sales and exports API tests' market: lots with benefit-sharing terms, and orders bought and paid."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from api_support import API, Party, ledger
from flask import Flask
from flask.testing import FlaskClient
from sales_support import add_shared_lots as add_lots

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LOTS = (
    # 盐源县 (a former poverty county), 30 % to its collectives; 锦江区 (not one), 12.5 %.
    ("L-A", "YY01", "513423", "川西南", 50_000, "30"),
    ("L-B", "JJ01", "510104", "川中", 80_000, "12.5"),
)


def add_shared_lots(app: Flask) -> None:
    add_lots(ledger(app), LOTS, quantity_kg=10_000, at=T0)


def buy_individual(client: FlaskClient, admin: Party, quantity_kg: int, *, zone: str, **changes: Any) -> dict:
    """An individual's order in ``zone``, paid by invoice and so fulfilled; the fulfilled order."""
    body = {
        "kind": "individual",
        "quantity_kg": quantity_kg,
        "display_name": "小王",
        "beneficiary": {"name": "王小明"},
        "sourcing": {"zone": zone},
    } | changes
    placed = client.post(f"{API}/orders", json=body)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    paid = admin.post(
        f"/orders/{order['id']}/invoice-payment",
        {"amount_fen": order["price_fen"], "reference": f"BANK-{order['id'][-8:]}"},
    )
    assert paid.status_code == 200, paid.get_json()
    fulfilled: dict = paid.get_json()
    assert fulfilled["state"] == "fulfilled"
    return fulfilled


def buy_enterprise(enterprise: Party, admin: Party | None, quantity_kg: int, *, zone: str) -> dict:
    """An enterprise's order in ``zone``; paid (and fulfilled) if ``admin`` is given."""
    body = {
        "kind": "enterprise",
        "quantity_kg": quantity_kg,
        "beneficiary": {"name": "企业"},
        "details": "2025 年度履约",
        "sourcing": {"zone": zone},
    }
    placed = enterprise.post("/orders", body)
    assert placed.status_code == 201, placed.get_json()
    order: dict = placed.get_json()
    if admin is not None:
        paid = admin.post(
            f"/orders/{order['id']}/invoice-payment",
            {"amount_fen": order["price_fen"], "reference": f"BANK-{order['id'][-8:]}"},
        )
        assert paid.status_code == 200, paid.get_json()
        order = paid.get_json()
    return order


def read_csv(response: Any) -> list[dict[str, str]]:
    """A CSV response as rows by header, after checking what every export must be."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.mimetype_params.get("charset") == "utf-8"
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.endswith("\r\n")
    return list(csv.DictReader(io.StringIO(text, newline="")))
