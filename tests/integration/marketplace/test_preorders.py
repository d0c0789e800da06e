"""Pre-orders against a real (SQLite) database: the cap holds for any sequence of pre-orders.

The property runs each example on a fresh listing in one migrated database (listings are independent), and
compares what was accepted with the obvious model: a pre-order is accepted exactly when it still fits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests_support import add_registered_project

from marketplace.orders import OrderKind
from marketplace.preorders import (
    CapExceeded,
    NewPreorder,
    PreorderError,
    check_within_cap,
    create_listing,
    place_preorder,
    placed_kg,
)

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
