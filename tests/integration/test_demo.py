"""`tanhui demo` fills an empty registry with a realistic, verifiable Sichuan registry, once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from api.models import User
from api.users import authenticate
from ledger.checkpoints import latest
from ledger.models import Entry
from marketplace.models import Certificate, Lot, MarketOrder
from marketplace.reversal_models import BufferCompensation, BufferCompensationBatch
from offsets import regions
from offsets.models import MonitoringReport, Project, Verification
from web.demo import DEMO_PASSWORD, DEMO_USERS, load_demo


def test_the_demo_covers_every_kind_zone_and_poverty_counties_and_verifies(service):
    summary = load_demo(service)
    assert "12 projects" in summary
    with service.database.reading() as session:
        kinds = dict(session.execute(select(Entry.kind, func.count()).group_by(Entry.kind)).all())
        projects = [(p.zone, p.county_code, p.status) for p in session.scalars(select(Project))]
        reports = session.scalar(select(func.count()).select_from(MonitoringReport))
        verifications = session.scalar(select(func.count()).select_from(Verification))
        checkpoint = latest(session)
        checkpoint_size = checkpoint.size if checkpoint else None
    assert all(kinds[kind] >= 50 for kind in ("issue", "transfer", "retire", "cancel")), kinds
    assert {zone for zone, _, _ in projects} == {"川西南", "川西北", "川东北", "川南", "川中"}
    assert sum(regions.poverty_status(county) is not None for _, county, _ in projects) >= 3
    assert {status for _, _, status in projects} == {"registered"}
    assert reports == verifications == 60
    assert checkpoint_size == sum(kinds.values())
    service.verify()


def test_loading_the_demo_twice_changes_nothing(service):
    load_demo(service)
    size = service.size()
    assert "not loaded" in load_demo(service)
    assert service.size() == size


def test_the_demo_lists_lots_in_every_zone_and_shows_the_fire_as_a_buffer_compensation(service):
    load_demo(service)

    with service.database.reading() as session:
        lots = [(lot.id, lot.zone, lot.status) for lot in session.scalars(select(Lot))]
        [compensation] = session.scalars(select(BufferCompensation)).all()
        project_code = session.scalar(select(Project.code).where(Project.id == compensation.project_id))
        suspended = {lot_id for lot_id, _, status in lots if status == "suspended"}
        affected = set(
            session.scalars(
                select(BufferCompensationBatch.batch_id).where(
                    BufferCompensationBatch.compensation_id == compensation.id
                )
            )
        )
    listed_zones = {zone for _, zone, status in lots if status == "listed"}
    assert listed_zones == {"川西南", "川西北", "川东北", "川南", "川中"}
    assert project_code == "GZ01"
    assert affected, "the fire affects the batches issued before it"
    assert suspended == {f"L-{batch}" for batch in affected}


def test_the_demo_users_sign_in_in_their_roles(service):
    load_demo(service)

    with service.database.unit_of_work() as uow:
        roles = {
            email: authenticate(uow.session, email=email, password=DEMO_PASSWORD, now=datetime.now(UTC)).role
            for email, _, _ in DEMO_USERS
        }
        uow.commit()
    assert sorted(roles.values()) == ["enterprise_buyer", "event_organiser", "individual", "registry_admin"]


def test_the_demo_has_orders_of_every_journey_and_their_certificates(service):
    load_demo(service)

    with service.database.reading() as session:
        orders = {
            row.id: (row.kind, row.state, row.user_id is not None, row.event_id is not None)
            for row in session.scalars(select(MarketOrder))
        }
        certificates = session.execute(
            select(Certificate.order_id, Certificate.organisation_id, Entry.kind).join(
                Entry, Entry.seq == Certificate.seq
            )
        ).all()
        buyer_organisation = session.scalar(
            select(User.organisation_id).where(User.email == "buyer@demo.tanhui.cn")
        )
    assert sorted(orders.values()) == [
        ("enterprise", "fulfilled", False, False),
        ("event", "fulfilled", False, True),
        ("individual", "fulfilled", True, False),
        ("individual", "fulfilled", True, False),
        ("individual", "fulfilled", True, False),
        ("individual", "reserved", True, False),  # awaiting its invoice payment
    ]
    # A certificate for every order fulfilled by a retirement (the enterprise's was a transfer into its
    # account), and one for the enterprise's own retirement for its compliance period.
    retiring = [
        order
        for order, (kind, state, _, _) in orders.items()
        if state == "fulfilled" and kind != "enterprise"
    ]
    assert {tuple(row) for row in certificates} == {
        *((order, None, "retire") for order in retiring),
        (None, buyer_organisation, "retire"),
    }
    assert len(certificates) == len(retiring) + 1
