"""Twenty buyers race for the last tonnes of a lot on PostgreSQL: no oversell, each gets holds or a refusal.

Each buyer has its own :class:`Database` (engine and connection pool) on the test's schema, as separate web
workers would, and a :class:`threading.Barrier` releases them together. The lot row lock taken by
``reserve`` must make their reservations one serial order, so that the kilograms reserved never exceed
what the lot had available and every refusal is an :class:`InsufficientStock` that was true when made.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from tests_support import add_listed_lot, race_together, sent_statements

from ledger.database import Database
from ledger.service import LedgerService
from marketplace.lots import InsufficientStock, LotFilters, available_kg
from marketplace.models import Lot, LotReservation
from marketplace.reservations import Allocation, reserve

pytestmark = pytest.mark.pg

BUYERS = 20
LOT_KG = 10_000
EARLIER_KG = 7_000
"""Reserved before the race, so that the buyers compete for the last 3 t."""
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@dataclass
class Outcome:
    quantity_kg: int
    allocation: Allocation | None = None
    error: BaseException | None = None


@pytest.fixture
def last_tonnes(pg_service: LedgerService) -> LedgerService:
    """One poverty-area lot of 10 t, 7 t of it already reserved."""
    with pg_service.database.unit_of_work() as uow:
        session = uow.session
        add_listed_lot(
            session,
            pg_service.sequencer,
            created_at=T0,
            issued_kg=LOT_KG,
            listed_kg=LOT_KG,
            price_fen_per_t=8_000,
        )
        reserve(session, "O-earlier", EARLIER_KG, LotFilters(), now=T0, ttl_s=3_600)
        uow.commit()
    return pg_service


def test_twenty_buyers_racing_for_the_last_tonnes_never_oversell(
    last_tonnes: LedgerService, pg_url: str
) -> None:
    quantities = [random.Random(index).randrange(100, 401) for index in range(BUYERS)]
    assert sum(quantities) > LOT_KG - EARLIER_KG, "the buyers must want more than is left"
    outcomes = race(pg_url, quantities)

    won = [outcome for outcome in outcomes if outcome.allocation is not None]
    refused = [outcome for outcome in outcomes if outcome.error is not None]
    assert len(won) + len(refused) == BUYERS
    for outcome in refused:
        assert isinstance(outcome.error, InsufficientStock), outcome.error
        assert outcome.error.field == "quantity_kg"
    for outcome in won:
        assert outcome.allocation is not None
        assert outcome.allocation.quantity_kg == outcome.quantity_kg
        assert [hold.lot_id for hold in outcome.allocation.holds] == ["L-1"]

    won_kg = sum(outcome.quantity_kg for outcome in won)
    with last_tonnes.database.reading() as session:
        lot = session.get(Lot, "L-1")
        assert lot is not None
        left_kg = available_kg(session, lot)
        reserved_kg = session.scalar(
            select(func.sum(LotReservation.quantity_kg)).where(LotReservation.released_at.is_(None))
        )
    assert won_kg <= LOT_KG - EARLIER_KG
    assert reserved_kg == EARLIER_KG + won_kg
    assert left_kg == LOT_KG - EARLIER_KG - won_kg >= 0
    # Stock only shrank during the race, so each refusal was for more than what is left now.
    assert refused, "some buyer must have been refused"
    assert all(outcome.quantity_kg > left_kg for outcome in refused)
    assert last_tonnes.verify().size == 2  # the issue and the listing transfer; reserving writes no entry


def race(pg_url: str, quantities: list[int]) -> list[Outcome]:
    """Each buyer reserves its quantity in any lot at the same moment."""
    outcomes = [Outcome(quantity) for quantity in quantities]

    def buy(database: Database, index: int) -> None:
        with database.unit_of_work() as uow:
            outcomes[index].allocation = reserve(
                uow.session, f"O-{index}", quantities[index], LotFilters(), now=T0, ttl_s=900
            )
            uow.commit()

    errors = race_together(pg_url, len(quantities), buy, doing="reserving")
    for outcome, error in zip(outcomes, errors, strict=True):
        outcome.error = error
    return outcomes


def test_a_reservation_locks_the_matching_lots_in_lot_id_order(last_tonnes: LedgerService) -> None:
    """Reservations lock every matching lot before reading stock, in one global order (lot id), so that
    two reservations sharing lots wait for each other and never deadlock."""
    with sent_statements(last_tonnes.database.engine) as sent, last_tonnes.database.unit_of_work() as uow:
        reserve(uow.session, "O-locking", 100, LotFilters(zone="川西南"), now=T0, ttl_s=900)
        uow.commit()
    locking = [" ".join(statement.sql.split()) for statement in sent if "FOR UPDATE" in statement.sql]
    assert len(locking) == 1, locking
    assert locking[0].startswith("SELECT lots.id")
    assert locking[0].endswith("ORDER BY lots.id FOR UPDATE")
    reads = [index for index, statement in enumerate(sent) if "lot_reservations" in statement.sql]
    assert min(reads) > next(index for index, s in enumerate(sent) if "FOR UPDATE" in s.sql)  # lock first
