"""Lots with benefit-sharing terms, for the sales and payout tests (integration and API alike).

Written straight to the tables and the ledger, like ``tests_support.add_listed_lot``, but each lot in its
own project, county and zone, with an explicit ``farmer_share_percent``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session
from tests_support import add_lot_in_own_project

from ledger.sequencer import Sequencer
from ledger.service import LedgerService

OWNER_NAME = "凉山州林草合作社"
OWNER_ACCOUNT = "OWN-SALES"
SharedLot = tuple[str, str, str, str, int, str]
"""``(lot_id, project code, county, zone, price_fen_per_t, farmer_share_percent)``."""


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
    return add_lot_in_own_project(
        session,
        sequencer,
        lot_id=lot_id,
        code=code,
        project_name=f"{code} 碳汇造林项目",
        county=county,
        zone=zone,
        quantity_kg=quantity_kg,
        price_fen_per_t=price_fen_per_t,
        at=at,
        owner_name=OWNER_NAME,
        owner_account=OWNER_ACCOUNT,
        farmer_share_percent=Decimal(farmer_share_percent),
    )


def add_shared_lots(
    service: LedgerService, lots: Iterable[SharedLot], *, quantity_kg: int, at: datetime
) -> None:
    """Each of ``lots`` as :func:`add_shared_lot` with ``quantity_kg``, in one committed unit of work."""
    with service.database.unit_of_work() as uow:
        for lot_id, code, county, zone, price_fen_per_t, share in lots:
            add_shared_lot(
                uow.session,
                service.sequencer,
                lot_id=lot_id,
                code=code,
                county=county,
                zone=zone,
                quantity_kg=quantity_kg,
                price_fen_per_t=price_fen_per_t,
                farmer_share_percent=share,
                at=at,
            )
        uow.commit()
