"""The marketplace side of the API tests: a listed lot, an individual order and its invoice payment."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from api_support import API, Party, ledger
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ledger.accounts import ensure_account
from ledger.commands import Allocation, Issue
from ledger.models import Holding
from marketplace.lots import list_lot
from offsets.models import Organisation, Project

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ENTERPRISE_CREDIT_CODE = "91510100MA6CGUGA1W"


def add_lot(
    app: Flask, lot_id: str, code: str, county: str, zone: str, quantity_kg: int, price_fen_per_t: int
):
    service = ledger(app)
    with service.database.unit_of_work() as uow:
        session = uow.session
        ensure_account(session, "RETAIL", "retail", "零售库存")
        owner = session.scalar(select(Organisation).where(Organisation.name == "业主甲"))
        if owner is None:
            owner = Organisation(name="业主甲", kind="project_owner", ledger_account_id=None, created_at=T0)
            session.add(owner)
            session.flush()
            owner.ledger_account_id = ensure_account(session, "OWN-TEST", "owner", "业主甲").id
            session.flush()
        project = Project(
            code=code,
            name=f"测试项目 {code}",
            project_type="afforestation",
            county_code=county,
            zone=zone,
            area_mu=Decimal("1000"),
            location={"type": "Point", "coordinates": [103.0, 30.0]},
            owner_id=owner.id,
            methodology="AR-CM-001-V01",
            standard="provincial",
            crediting_start=date(2018, 1, 1),
            crediting_end=date(2040, 12, 31),
            expected_annual_removals_kg=1_000_000,
            buffer_percent=20,
            status="registered",
            created_at=T0,
        )
        session.add(project)
        session.flush()
        command = Issue(f"issue:{code}", code, "2021", 1, (Allocation("OWN-TEST", quantity_kg),))
        service.sequencer.append(session, [command])
        list_lot(
            session,
            service.sequencer,
            lot_id=lot_id,
            batch_id=command.batch_id,
            quantity_kg=quantity_kg,
            price_fen_per_t=price_fen_per_t,
            at=T0,
        )
        uow.commit()
    return command.batch_id


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
            select(func.sum(Holding.end_kg - Holding.start_kg + 1)).where(Holding.account_id == "RETAIL")
        )
