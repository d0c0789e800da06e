"""Pre-orders against a real (SQLite) database: the cap holds for any sequence of pre-orders.

The property runs each example on a fresh listing in one migrated database (listings are independent), and
compares what was accepted with the obvious model: a pre-order is accepted exactly when it still fits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests_support import add_registered_project, issue_and_list

from ledger.orm import as_utc
from marketplace.lots import available_kg
from marketplace.models import Lot, LotReservation
from marketplace.orders import MAX_RESERVATION_TTL_S, OrderKind
from marketplace.preorders import (
    CapExceeded,
    NewPreorder,
    PreorderConflict,
    PreorderError,
    check_within_cap,
    convert_listing,
    create_listing,
    place_preorder,
    placed_kg,
)
from marketplace.reversal_models import PreorderConversion

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def command(quantity_kg: int) -> NewPreorder:
    return NewPreorder(
        kind=OrderKind.INDIVIDUAL,
        quantity_kg=quantity_kg,
        buyer_organisation_id=None,
        buyer_display_name="小王",
        beneficiary_name="王小明",
        beneficiary_public=False,
        reason="personal_footprint",
        details="",
    )


@pytest.fixture
def project_id(service):
    with service.database.unit_of_work() as uow:
        _, project = add_registered_project(uow.session, created_at=T0)
        uow.commit()
        return project.id


def new_listing(service, project_id: int, cap_kg: int) -> int:
    with service.database.unit_of_work() as uow:
        listing = create_listing(
            uow.session,
            project_id=project_id,
            vintage="2027",
            cap_kg=cap_kg,
            price_fen_per_t=60_000,
            expected_issuance_on=datetime.now(UTC).date() + timedelta(days=30),
            actor="registry test",
            now=datetime.now(UTC),
        )
        uow.commit()
        return listing.id


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cap_kg=st.integers(min_value=1, max_value=5_000),
    quantities=st.lists(st.integers(min_value=1, max_value=2_000), max_size=12),
)
def test_accepted_pre_orders_never_exceed_the_cap_for_any_sequence(service, project_id, cap_kg, quantities):
    listing_id = new_listing(service, project_id, cap_kg)
    accepted_kg = 0
    for quantity_kg in quantities:
        with service.database.unit_of_work() as uow:
            try:
                place_preorder(uow.session, listing_id, command(quantity_kg), now=datetime.now(UTC))
            except CapExceeded:
                assert quantity_kg > cap_kg - accepted_kg  # refused only when it did not fit
                continue
            uow.commit()
        assert quantity_kg <= cap_kg - accepted_kg  # accepted only when it fitted
        accepted_kg += quantity_kg
    with service.database.reading() as session:
        assert placed_kg(session, listing_id) == accepted_kg <= cap_kg


@given(
    cap_kg=st.integers(min_value=1, max_value=10**12),
    quantities=st.lists(st.integers(min_value=1, max_value=10**12), max_size=30),
)
def test_the_cap_check_accepts_exactly_what_fits(cap_kg, quantities):
    accepted_kg = 0
    for quantity_kg in quantities:
        if accepted_kg + quantity_kg > cap_kg:
            with pytest.raises(CapExceeded, match="quantity_kg"):
                check_within_cap(cap_kg, accepted_kg, quantity_kg)
        else:
            check_within_cap(cap_kg, accepted_kg, quantity_kg)
            accepted_kg += quantity_kg
        assert accepted_kg <= cap_kg


def test_a_listing_for_an_unregistered_or_unknown_project_is_refused(service, project_id):
    with service.database.unit_of_work() as uow:
        with pytest.raises(PreorderError) as unknown:
            create_listing(
                uow.session,
                project_id=project_id + 1,
                vintage="2027",
                cap_kg=1,
                price_fen_per_t=1,
                expected_issuance_on=datetime.now(UTC).date(),
                actor="registry",
                now=datetime.now(UTC),
            )
        assert unknown.value.field == "project_id"
        for wrong in ("27", "２０２７", "20２７"):
            with pytest.raises(PreorderError) as vintage:
                create_listing(
                    uow.session,
                    project_id=project_id,
                    vintage=wrong,
                    cap_kg=1,
                    price_fen_per_t=1,
                    expected_issuance_on=datetime.now(UTC).date(),
                    actor="registry",
                    now=datetime.now(UTC),
                )
            assert vintage.value.field == "vintage"


# --- conversion at issuance ---------------------------------------------------------------------------


def issued_lot(service, vintage: str, quantity_kg: int, lot_id: str) -> str:
    """YY01's batch of ``vintage``, ``quantity_kg`` issued to its owner and all of it listed as ``lot_id``."""
    with service.database.unit_of_work() as uow:
        issue_and_list(
            uow.session,
            service.sequencer,
            project="YY01",
            vintage=vintage,
            allocations=[("OWN-A", quantity_kg)],
            lot_id=lot_id,
            quantity_kg=quantity_kg,
            price_fen_per_t=70_000,
            at=T0,
        )
        uow.commit()
    return lot_id


def place(service, listing_id: int, *quantities: int) -> None:
    with service.database.unit_of_work() as uow:
        for quantity_kg in quantities:
            place_preorder(uow.session, listing_id, command(quantity_kg), now=T0)
        uow.commit()


def convert(service, listing_id: int, lot_id: str, **options):
    with service.database.unit_of_work() as uow:
        result = convert_listing(
            uow.session, listing_id, lot_id=lot_id, actor="registry test", now=T0, **options
        )
        outcomes = [(outcome.outcome, outcome.order_id is not None) for outcome in result.outcomes]
        expiries = [
            as_utc(expires_at)
            for expires_at in uow.session.scalars(
                select(LotReservation.expires_at).order_by(LotReservation.id)
            )
        ]
        uow.commit()
    return outcomes, expiries


def test_conversion_serves_a_pre_order_that_takes_exactly_what_the_lot_has_left(service, project_id):
    listing_id = new_listing(service, project_id, 100)
    place(service, listing_id, 60, 40)
    lot_id = issued_lot(service, "2027", 100, "L-YY01-2027")

    outcomes, _ = convert(service, listing_id, lot_id)

    assert outcomes == [("converted", True), ("converted", True)]
    with service.database.reading() as session:
        assert available_kg(session, session.get(Lot, lot_id)) == 0


def test_conversion_onto_a_lot_of_another_vintage_of_the_same_project_is_refused(service, project_id):
    listing_id = new_listing(service, project_id, 100)
    place(service, listing_id, 10)
    other_vintage = issued_lot(service, "2026", 100, "L-YY01-2026")

    with service.database.unit_of_work() as uow, pytest.raises(PreorderConflict) as refused:
        convert_listing(uow.session, listing_id, lot_id=other_vintage, actor="registry", now=T0)
    assert refused.value.field == "lot_id"
    assert "vintage 2027" in refused.value.message
    with service.database.reading() as session:
        assert session.scalar(select(func.count()).select_from(PreorderConversion)) == 0


@pytest.mark.parametrize("ttl_s", [1, MAX_RESERVATION_TTL_S])
def test_a_conversion_reserves_for_the_time_asked(service, project_id, ttl_s):
    listing_id = new_listing(service, project_id, 100)
    place(service, listing_id, 10)
    lot_id = issued_lot(service, "2027", 100, "L-YY01-2027")

    outcomes, expiries = convert(service, listing_id, lot_id, ttl_s=ttl_s)

    assert outcomes == [("converted", True)]
    assert expiries == [T0 + timedelta(seconds=ttl_s)]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"ttl_s": 0}, "ttl_s"),
        ({"ttl_s": MAX_RESERVATION_TTL_S + 1}, "ttl_s"),
        ({"ttl_s": True}, "ttl_s"),
        ({"ttl_s": 60.0}, "ttl_s"),
        ({"actor": " "}, "actor"),
        ({"actor": "x" * 201}, "actor"),
    ],
)
def test_a_conversion_with_a_bad_time_to_live_or_actor_is_refused_and_writes_nothing(
    service, project_id, options, field
):
    listing_id = new_listing(service, project_id, 100)
    place(service, listing_id, 10)
    lot_id = issued_lot(service, "2027", 100, "L-YY01-2027")

    with service.database.unit_of_work() as uow, pytest.raises(PreorderError) as refused:
        convert_listing(
            uow.session, listing_id, **({"lot_id": lot_id, "actor": "registry", "now": T0} | options)
        )
    assert refused.value.field == field
    with service.database.reading() as session:
        assert session.scalar(select(func.count()).select_from(PreorderConversion)) == 0
        assert session.scalar(select(func.count()).select_from(LotReservation)) == 0
