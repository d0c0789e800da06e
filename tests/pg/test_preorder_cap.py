"""Twenty buyers pre-order the last tonnes of a pre-order listing at once on PostgreSQL: never over the cap.

Each buyer has its own :class:`Database` (engine and pool) on the test's schema, as separate web workers
would, and a :class:`threading.Barrier` releases them together. The listing row lock taken by
``place_preorder`` must make their pre-orders one serial order: the kilograms accepted never exceed the
cap, every refusal is a :class:`CapExceeded` that was true when made, and placement positions are 1..n.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from tests_support import add_registered_project, race_together

from ledger.database import Database
from ledger.service import LedgerService
from marketplace.orders import OrderKind
from marketplace.preorders import CapExceeded, NewPreorder, create_listing, place_preorder, placed_kg
from marketplace.reversal_models import Preorder

pytestmark = pytest.mark.pg

BUYERS = 20
CAP_KG = 10_000
EARLIER_KG = 7_000
"""Pre-ordered before the race, so that the buyers compete for the last 3 t."""
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@dataclass
class Outcome:
    quantity_kg: int
    preorder_id: str | None = None
    error: BaseException | None = None


def command(quantity_kg: int, name: str) -> NewPreorder:
    return NewPreorder(
        kind=OrderKind.INDIVIDUAL,
        quantity_kg=quantity_kg,
        buyer_organisation_id=None,
        buyer_display_name=name,
        beneficiary_name=name,
        beneficiary_public=False,
        reason="personal_footprint",
        details="",
    )


@pytest.fixture
def listing_id(pg_service: LedgerService) -> int:
    with pg_service.database.unit_of_work() as uow:
        _, project = add_registered_project(uow.session, created_at=T0)
        listing = create_listing(
            uow.session,
            project_id=project.id,
            vintage="2027",
            cap_kg=CAP_KG,
            price_fen_per_t=60_000,
            expected_issuance_on=datetime.now(UTC).date() + timedelta(days=365),
            actor="registry test",
            now=datetime.now(UTC),
        )
        place_preorder(uow.session, listing.id, command(EARLIER_KG, "earlier"), now=datetime.now(UTC))
        uow.commit()
        return listing.id


def test_twenty_buyers_racing_for_the_last_tonnes_of_a_listing_never_exceed_its_cap(
    pg_service: LedgerService, listing_id: int, pg_url: str
) -> None:
    quantities = [random.Random(index).randrange(100, 401) for index in range(BUYERS)]
    assert sum(quantities) > CAP_KG - EARLIER_KG, "the buyers must want more than is left"
    outcomes = race(pg_url, listing_id, quantities)

    won = [outcome for outcome in outcomes if outcome.preorder_id is not None]
    refused = [outcome for outcome in outcomes if outcome.error is not None]
    assert len(won) + len(refused) == BUYERS
    for outcome in refused:
        assert isinstance(outcome.error, CapExceeded), outcome.error
        assert outcome.error.field == "quantity_kg"
    won_kg = sum(outcome.quantity_kg for outcome in won)
    with pg_service.database.reading() as session:
        total_kg = placed_kg(session, listing_id)
        positions = list(
            session.scalars(
                select(Preorder.position).where(Preorder.listing_id == listing_id).order_by("position")
            )
        )
    assert total_kg == EARLIER_KG + won_kg <= CAP_KG
    assert positions == list(range(1, len(won) + 2))
    # What remained only shrank during the race, so each refusal was for more than what is left now.
    assert refused, "some buyer must have been refused"
    assert all(outcome.quantity_kg > CAP_KG - total_kg for outcome in refused)


def race(pg_url: str, listing_id: int, quantities: list[int]) -> list[Outcome]:
    """Each buyer pre-orders its quantity from the listing at the same moment."""
    outcomes = [Outcome(quantity) for quantity in quantities]

    def buy(database: Database, index: int) -> None:
        with database.unit_of_work() as uow:
            preorder = place_preorder(
                uow.session, listing_id, command(quantities[index], f"buyer {index}"), now=datetime.now(UTC)
            )
            outcomes[index].preorder_id = preorder.id
            uow.commit()

    errors = race_together(pg_url, len(quantities), buy, doing="pre-ordering")
    for outcome, error in zip(outcomes, errors, strict=True):
        outcome.error = error
    return outcomes
