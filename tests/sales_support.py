"""Lots with benefit-sharing terms, for the sales and payout tests (integration and API alike).

Written straight to the tables and the ledger, like ``tests_support.add_listed_lot``, but each lot in its
own project, county and zone, with an explicit ``farmer_share_percent``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts import ensure_account
from ledger.commands import Allocation, Issue
from ledger.sequencer import Sequencer
from marketplace.lots import list_lot
from offsets.models import Organisation, Project

OWNER_NAME = "凉山州林草合作社"
OWNER_ACCOUNT = "OWN-SALES"


def add_shared_lot(
    session: Session,
    sequencer: Sequencer,
    *,
    lot_id: str,
    code: str,
    county: str,
    zone: str,
    quantity_kg: int,
    price_fen_per_t: int,
    farmer_share_percent: str,
    at: datetime,
) -> str:
    """Project ``code`` in ``county``, its 2021 batch issued to the owner, listed as ``lot_id``.

    Returns the batch id."""
    ensure_account(session, "RETAIL", "retail", "零售库存")
    owner = session.scalar(select(Organisation).where(Organisation.name == OWNER_NAME))
    if owner is None:
        owner = Organisation(name=OWNER_NAME, kind="project_owner", ledger_account_id=None, created_at=at)
        session.add(owner)
        session.flush()
        owner.ledger_account_id = ensure_account(session, OWNER_ACCOUNT, "owner", OWNER_NAME).id
        session.flush()
    project = Project(
        code=code,
        name=f"{code} 碳汇造林项目",
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
        created_at=at,
    )
    session.add(project)
    session.flush()
    issue = Issue(f"issue:{code}", code, "2021", 1, (Allocation(OWNER_ACCOUNT, quantity_kg),))
    sequencer.append(session, [issue])
    list_lot(
        session,
        sequencer,
        lot_id=lot_id,
        batch_id=issue.batch_id,
        quantity_kg=quantity_kg,
        price_fen_per_t=price_fen_per_t,
        at=at,
        farmer_share_percent=Decimal(farmer_share_percent),
    )
    return issue.batch_id
