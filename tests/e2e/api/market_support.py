"""The marketplace side of the API tests: a listed lot, an individual order and its invoice payment."""

from __future__ import annotations

from datetime import UTC, datetime

from api_support import API, Party, ledger
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from tests_support import add_lot_in_own_project

from ledger.models import Holding

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ENTERPRISE_CREDIT_CODE = "91510100MA6CGUGA1W"


def add_lot(
    app: Flask, lot_id: str, code: str, county: str, zone: str, quantity_kg: int, price_fen_per_t: int
):
    service = ledger(app)
    with service.database.unit_of_work() as uow:
        batch_id = add_lot_in_own_project(
            uow.session,
            service.sequencer,
            lot_id=lot_id,
            code=code,
            project_name=f"测试项目 {code}",
            county=county,
            zone=zone,
            quantity_kg=quantity_kg,
            price_fen_per_t=price_fen_per_t,
            at=T0,
            owner_name="业主甲",
            owner_account="OWN-TEST",
        )
        uow.commit()
    return batch_id


def individual_order(client: FlaskClient, **changes):
    body = {
        "kind": "individual",
        "quantity_kg": 12,
        "display_name": "小王",
        "beneficiary": {"name": "王小明"},
        "sourcing": {"prefer_poverty_area": True},
    } | changes
    return client.post(f"{API}/orders", json=body)


def pay(admin: Party, order: dict, reference: str = "BANK-0001", amount_fen: int | None = None):
    amount = order["price_fen"] if amount_fen is None else amount_fen
    return admin.post(
        f"/orders/{order['id']}/invoice-payment", {"amount_fen": amount, "reference": reference}
    )


def retail_kg(app: Flask) -> int:
    with ledger(app).database.reading() as session:
        return session.scalar(
            select(func.coalesce(func.sum(Holding.end_kg - Holding.start_kg + 1), 0)).where(
                Holding.account_id == "RETAIL"
            )
        )
