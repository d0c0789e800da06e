"""Twenty buyers pre-order the last tonnes of a pre-order listing at once on PostgreSQL: never over the cap.

Each buyer has its own :class:`Database` (engine and pool) on the test's schema, as separate web workers
would, and a :class:`threading.Barrier` releases them together. The listing row lock taken by
``place_preorder`` must make their pre-orders one serial order: the kilograms accepted never exceed the
cap, every refusal is a :class:`CapExceeded` that was true when made, and placement positions are 1..n.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from tests_support import add_registered_project

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
BARRIER_TIMEOUT_S = 30
JOIN_TIMEOUT_S = 60
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
    databases = [Database(pg_url) for _ in range(BUYERS)]
    try:
        for database in databases:
            with database.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        outcomes = race(databases, listing_id, quantities)
    finally:
        for database in databases:
            database.dispose()

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


def race(databases: list[Database], listing_id: int, quantities: list[int]) -> list[Outcome]:
    barrier = threading.Barrier(len(databases))
    outcomes = [Outcome(quantity) for quantity in quantities]

    def buy(index: int) -> None:
        try:
            barrier.wait(BARRIER_TIMEOUT_S)
            with databases[index].unit_of_work() as uow:
                preorder = place_preorder(
                    uow.session,
                    listing_id,
                    command(quantities[index], f"buyer {index}"),
                    now=datetime.now(UTC),
                )
                outcomes[index].preorder_id = preorder.id
                uow.commit()
        except BaseException as exc:  # recorded and asserted on by the test thread
            outcomes[index].error = exc

    threads = [threading.Thread(target=buy, args=(i,), name=f"buyer-{i}") for i in range(len(databases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
        assert not thread.is_alive(), f"{thread.name} is still pre-ordering after {JOIN_TIMEOUT_S} s"
    return outcomes
