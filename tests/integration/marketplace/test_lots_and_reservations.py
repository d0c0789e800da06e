"""Lots and reservations on SQLite: listing moves kilograms into RETAIL, sourcing filters, deterministic
allocation with its explanation, no reservation beyond the stock, release and expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tests_support import individual_order, issue_and_list

from ledger import limits
from ledger.commands import Allocation, Issue, Selection, Transfer
from ledger.entries import parse_body
from ledger.errors import InsufficientHolding
from ledger.models import Entry, Holding
from ledger.orm import as_utc
from marketplace import order_store
from marketplace.lots import (
    MAX_LOT_ID_CHARS,
    InsufficientStock,
    InvalidLot,
    LotConflict,
    LotFilters,
    TooManyLots,
    available_kg,
    find_lots,
    list_lot,
)
from marketplace.models import Lot, LotReservation
from marketplace.orders import MAX_RESERVATION_TTL_S, LotHold
from marketplace.quotes import (
    MAX_QUOTE_VALIDITY_S,
    QuoteError,
    QuoteExpired,
    QuoteNotFound,
    create_quote,
    lines_of,
    reserve_quoted,
)
from marketplace.reservations import expire_due, release, reserve
from marketplace.reversal_models import LotStatusChange
from marketplace.reversals import (
    MAX_ACTOR_CHARS,
    MAX_REASON_CHARS,
    ReversalError,
    resume_lot,
    suspend_lot,
)
from offsets.models import Organisation, Project, ProjectBeneficiary

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

# code, county, zone, type, vintage; 盐源县 and 北川 are former poverty counties, 锦江区 is not.
PROJECTS = (
    ("YY01", "513423", "川西南", "afforestation", "2021"),
    ("JJ01", "510104", "川中", "urban_forest", "2019"),
    ("BC01", "510726", "川中", "forest_management", "2022"),
)


def add_project(session, code, county, zone, project_type, owner_id):
    project = Project(
        code=code,
        name=f"测试项目 {code}",
        project_type=project_type,
        county_code=county,
        zone=zone,
        area_mu=Decimal("1000"),
        location={"type": "Point", "coordinates": [103.0, 30.0]},
        owner_id=owner_id,
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
    return project


def issue_batch(session, sequencer, project_code, vintage, quantity_kg, account="OWN-A"):
    command = Issue(
        f"issue:{project_code}-{vintage}", project_code, vintage, 1, (Allocation(account, quantity_kg),)
    )
    sequencer.append(session, [command])
    return command.batch_id


def add_owner(session):
    """The owner organisation of the test's projects, with ledger account OWN-A."""
    owner = Organisation(name="业主甲", kind="project_owner", ledger_account_id="OWN-A", created_at=T0)
    session.add(owner)
    session.flush()
    return owner


@pytest.fixture
def market(service):
    """Three projects, each with one batch of 10 t held by OWN-A, listed as lots L-1, L-2, L-3."""
    with service.database.unit_of_work() as uow:
        session = uow.session
        owner = add_owner(session)
        for index, (code, county, zone, project_type, vintage) in enumerate(PROJECTS, start=1):
            project = add_project(session, code, county, zone, project_type, owner.id)
            if index == 1:
                session.add(
                    ProjectBeneficiary(
                        project_id=project.id, name="村集体", kind="collective", share_percent=Decimal("60")
                    )
                )
            batch = issue_batch(session, service.sequencer, code, vintage, 10_000)
            list_lot(
                session,
                service.sequencer,
                lot_id=f"L-{index}",
                batch_id=batch,
                quantity_kg=10_000,
                price_fen_per_t=5_000 * index,
                at=T0,
            )
        uow.commit()
    return service


def available(service, lot_id):
    with service.database.reading() as session:
        return available_kg(session, session.get(Lot, lot_id))


def retail_kg(session):
    return session.scalar(
        select(func.coalesce(func.sum(Holding.end_kg - Holding.start_kg + 1), 0)).where(
            Holding.account_id == "RETAIL"
        )
    )


ANY_LOT = LotFilters()


def do_reserve(service, order_id, quantity_kg, filters=ANY_LOT, now=T0, ttl_s=900):
    with service.database.unit_of_work() as uow:
        allocation = reserve(uow.session, order_id, quantity_kg, filters, now=now, ttl_s=ttl_s)
        uow.commit()
    return allocation


def test_listing_moves_the_kilograms_into_retail_and_records_the_sourcing_facts(market):
    with market.database.reading() as session:
        lot = session.get(Lot, "L-1")
        assert retail_kg(session) == 30_000
        assert (lot.county_code, lot.zone, lot.vintage, lot.project_type) == (
            "513423",
            "川西南",
            "2021",
            "afforestation",
        )
        assert lot.poverty_county is True
        assert "poverty_counties.csv" in lot.poverty_source
        assert lot.farmer_share_percent == Decimal("60")
        assert lot.status == "listed"
        jinjiang = session.get(Lot, "L-2")
        assert jinjiang.poverty_county is False
        assert "not among" in jinjiang.poverty_source
    assert market.verify().size == 6  # three issues and three listing transfers


def test_listing_the_same_lot_again_appends_nothing_and_a_second_lot_of_a_batch_is_refused(market):
    size = market.size()
    with market.database.unit_of_work() as uow:
        lot = uow.session.get(Lot, "L-1")
        again = list_lot(
            uow.session,
            market.sequencer,
            lot_id="L-1",
            batch_id=lot.batch_id,
            quantity_kg=10_000,
            price_fen_per_t=5_000,
            at=T0,
        )
        assert again.id == "L-1"
        with pytest.raises(LotConflict) as refused:
            list_lot(
                uow.session,
                market.sequencer,
                lot_id="L-9",
                batch_id=lot.batch_id,
                quantity_kg=1,
                price_fen_per_t=5_000,
                at=T0,
            )
        assert refused.value.field == "batch_id"
        uow.commit()
    assert market.size() == size


def test_listing_more_than_the_owner_holds_is_refused_by_the_ledger(service):
    with service.database.unit_of_work() as uow:
        session = uow.session
        owner = add_owner(session)
        add_project(session, "YY01", "513423", "川西南", "afforestation", owner.id)
        batch = issue_batch(session, service.sequencer, "YY01", "2021", 100)
        with pytest.raises(InsufficientHolding):
            list_lot(
                session,
                service.sequencer,
                lot_id="L-1",
                batch_id=batch,
                quantity_kg=101,
                price_fen_per_t=1,
                at=T0,
            )
        with pytest.raises(InvalidLot) as refused:
            list_lot(
                session,
                service.sequencer,
                lot_id="L 1",
                batch_id=batch,
                quantity_kg=1,
                price_fen_per_t=1,
                at=T0,
            )
        assert refused.value.field == "lot_id"


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"price_fen_per_t": 0}, "price_fen_per_t"),
        ({"price_fen_per_t": -5_000}, "price_fen_per_t"),
        ({"price_fen_per_t": 5_000.5}, "price_fen_per_t"),
        ({"price_fen_per_t": True}, "price_fen_per_t"),
        ({"at": datetime(2026, 11, 24, 9, 0)}, "at"),  # noqa: DTZ001 (a naive time is what is refused)
    ],
)
def test_bad_listing_terms_are_refused_naming_their_field_and_list_nothing(market, terms, field):
    size = market.size()
    arguments = {
        "lot_id": "L-9",
        "batch_id": "JJ01-2019-001",
        "quantity_kg": 1,
        "price_fen_per_t": 1,
        "at": T0,
    }
    with market.database.unit_of_work() as uow, pytest.raises(InvalidLot) as refused:
        list_lot(uow.session, market.sequencer, **(arguments | terms))
    assert refused.value.field == field
    assert market.size() == size
    with market.database.reading() as session:
        assert session.get(Lot, "L-9") is None


def test_a_lot_id_may_be_one_to_sixty_four_characters(service):
    with service.database.unit_of_work() as uow:
        session = uow.session
        owner = add_owner(session)
        for code, vintage in (("YY01", "2021"), ("YY02", "2022")):
            add_project(session, code, "513423", "川西南", "afforestation", owner.id)
            issue_batch(session, service.sequencer, code, vintage, 100)
        terms = {"quantity_kg": 1, "price_fen_per_t": 1, "at": T0}
        for lot_id in ("", "L" * (MAX_LOT_ID_CHARS + 1), 7):
            with pytest.raises(InvalidLot) as refused:
                list_lot(session, service.sequencer, lot_id=lot_id, batch_id="YY01-2021-001", **terms)
            assert refused.value.field == "lot_id"
        assert list_lot(session, service.sequencer, lot_id="L", batch_id="YY01-2021-001", **terms).id == "L"
        longest = "L" * MAX_LOT_ID_CHARS
        assert (
            list_lot(session, service.sequencer, lot_id=longest, batch_id="YY02-2022-001", **terms).id
            == longest
        )
        uow.commit()


def test_filters_select_by_poverty_area_zone_type_and_vintage(market):
    with market.database.reading() as session:

        def ids(**filters):
            return [lot.id for lot in find_lots(session, LotFilters(**filters))]

        assert ids() == ["L-2", "L-1", "L-3"]  # oldest vintage first
        assert ids(poverty_area_only=True) == ["L-1", "L-3"]
        assert ids(prefer_poverty_area=True) == ["L-1", "L-3", "L-2"]
        assert ids(zone="川中") == ["L-2", "L-3"]
        assert ids(project_type="afforestation") == ["L-1"]
        assert ids(vintage_from="2020", vintage_to="2021") == ["L-1"]
        assert ids(vintage_from="2021", vintage_to="2021") == ["L-1"]  # one vintage
        assert ids(vintage_from="2019") == ["L-2", "L-1", "L-3"]  # from a vintage includes it
        assert ids(vintage_from="2023") == []
        with pytest.raises(InvalidLot) as refused:
            ids(vintage_from="2022", vintage_to="2020")
        assert refused.value.field == "vintage_to"
        with pytest.raises(InvalidLot) as refused:
            ids(vintage_from="２０２０")
        assert refused.value.field == "vintage_from"
        with pytest.raises(InvalidLot):
            ids(zone="川北")


def test_allocation_is_deterministic_and_explained(market):
    allocation = do_reserve(market, "O-1", 15_000, LotFilters(prefer_poverty_area=True))
    assert allocation.holds == (LotHold("L-1", 10_000), LotHold("L-3", 5_000))
    assert allocation.explanation[0].startswith("allocated 15000 kg")
    assert (
        "poverty-area lots first, then oldest vintage first, then lowest lot id" in allocation.explanation[0]
    )
    assert (
        "lot L-1 (vintage 2021, county 513423, poverty area): 10000 kg of 10000 kg available"
        in allocation.explanation
    )
    assert (
        "lot L-3 (vintage 2022, county 510726, poverty area): 5000 kg of 10000 kg available"
        in allocation.explanation
    )

    # Without the preference the oldest vintage (L-2, 2019) goes first; L-1 is empty and passed over.
    second = do_reserve(market, "O-2", 12_000)
    assert second.holds == (LotHold("L-2", 10_000), LotHold("L-3", 2_000))
    assert any("L-1" in line and "passed over" in line for line in second.explanation)
    assert [available(market, lot) for lot in ("L-1", "L-2", "L-3")] == [0, 0, 3_000]


def test_reserving_beyond_the_stock_is_refused_and_holds_nothing(market):
    with pytest.raises(InsufficientStock) as refused:
        do_reserve(market, "O-1", 20_001, LotFilters(poverty_area_only=True))
    assert refused.value.field == "quantity_kg"
    assert "20000 kg available" in refused.value.message
    with market.database.reading() as session:
        assert session.scalar(select(func.count()).select_from(LotReservation)) == 0
    do_reserve(market, "O-2", 20_000, LotFilters(poverty_area_only=True))
    with pytest.raises(InsufficientStock):
        do_reserve(market, "O-3", 1, LotFilters(poverty_area_only=True))


def test_reserving_again_for_the_same_order_returns_its_holds(market):
    first = do_reserve(market, "O-1", 500)
    assert do_reserve(market, "O-1", 500).holds == first.holds
    assert available(market, "L-2") == 9_500
    with pytest.raises(LotConflict):
        do_reserve(market, "O-1", 600)


def test_release_returns_the_stock(market):
    do_reserve(market, "O-1", 4_000, LotFilters(zone="川西南"))
    assert available(market, "L-1") == 6_000
    with market.database.unit_of_work() as uow:
        assert release(uow.session, "O-1", now=T0 + timedelta(seconds=5)) == 4_000
        assert release(uow.session, "O-1", now=T0 + timedelta(seconds=6)) == 0
        uow.commit()
    assert available(market, "L-1") == 10_000


def test_release_frees_only_that_orders_holds_and_records_why(market):
    do_reserve(market, "O-1", 4_000, LotFilters(zone="川西南"))
    do_reserve(market, "O-2", 1_000, LotFilters(zone="川西南"))
    assert available(market, "L-1") == 5_000
    with market.database.unit_of_work() as uow:
        assert release(uow.session, "O-1", now=T0 + timedelta(seconds=5)) == 4_000
        uow.commit()
    assert available(market, "L-1") == 9_000
    with market.database.reading() as session:
        rows = session.execute(select(LotReservation.order_id, LotReservation.release_cause)).all()
    assert sorted(rows) == [("O-1", "released"), ("O-2", None)]
    with market.database.unit_of_work() as uow, pytest.raises(InvalidLot) as refused:
        release(uow.session, "O-2", now=datetime(2026, 1, 1))  # noqa: DTZ001 (a naive time is refused)
    assert refused.value.field == "now"
    assert available(market, "L-1") == 9_000


def test_sold_out_lots_do_not_count_against_the_lots_one_order_may_take_from(market, monkeypatch):
    """Sold-out lots stay listed, and the oldest come first: they must not crowd out lots with stock."""
    monkeypatch.setattr(limits, "MAX_RANGES_PER_ENTRY", 2)
    do_reserve(market, "O-1", 20_000)  # the two oldest lots, L-2 (2019) and L-1 (2021), whole
    with market.database.unit_of_work() as uow:  # a quote allocates as a reservation does
        buyer = uow.session.scalars(select(Organisation.id)).first()
        quote = create_quote(uow.session, organisation_id=buyer, quantity_kg=1_000, filters=ANY_LOT, now=T0)
        assert [(line.lot_id, line.quantity_kg) for line in lines_of(uow.session, quote.id)] == [
            ("L-3", 1_000)
        ]
    allocation = do_reserve(market, "O-2", 1_000)
    assert allocation.holds == (LotHold("L-3", 1_000),)
    assert [line.split(":")[0] for line in allocation.explanation if "passed over" in line] == [
        "lot L-2 (vintage 2019, county 510104)",
        "lot L-1 (vintage 2021, county 513423, poverty area)",
    ]

    with market.database.unit_of_work() as uow:
        release(uow.session, "O-1", now=T0)
        uow.commit()
    # Stock in three lots, and two is the limit: the first two by allocation order, never a third.
    assert do_reserve(market, "O-3", 20_000).holds == (LotHold("L-2", 10_000), LotHold("L-1", 10_000))
    with market.database.unit_of_work() as uow:
        release(uow.session, "O-3", now=T0)
        uow.commit()
    with pytest.raises(
        TooManyLots, match="more than 2 lots or serial ranges; order it in smaller parts"
    ) as refused:
        do_reserve(market, "O-4", 20_001)
    assert refused.value.field == "quantity_kg"
    with pytest.raises(InsufficientStock):  # beyond all the stock there is: not a matter of the limit
        do_reserve(market, "O-5", 29_001)
    with market.database.reading() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(LotReservation).where(LotReservation.released_at.is_(None))
            )
            == 1
        )  # O-2's hold alone


def list_scattered_lot(service, lot_id, ranges):
    """Lot ``lot_id`` of a new 2018 batch that RETAIL holds as ``ranges`` one-kilogram ranges (serials 1, 3,
    5, …): the issue alternates OWN-A's and OWN-B's kilograms, and the listing takes OWN-A's lowest."""
    with service.database.unit_of_work() as uow:
        session = uow.session
        owner = session.scalars(select(Organisation.id)).first()
        add_project(session, "SC01", "510104", "川中", "urban_forest", owner)
        issue_and_list(
            session,
            service.sequencer,
            project="SC01",
            vintage="2018",
            allocations=[(account, 1) for _ in range(ranges) for account in ("OWN-A", "OWN-B")],
            lot_id=lot_id,
            quantity_kg=ranges,
            price_fen_per_t=5_000,
            at=T0,
        )
        uow.commit()


def test_the_lot_limit_counts_the_serial_ranges_the_order_could_need(market, monkeypatch):
    """One order is fulfilled by one ledger entry, which names at most MAX_RANGES_PER_ENTRY ranges: a lot
    whose batch RETAIL holds in scattered ranges counts for as many of them as the order could take."""
    list_scattered_lot(market, "L-0", ranges=5)  # 2018: the oldest vintage, allocated first
    monkeypatch.setattr(limits, "MAX_RANGES_PER_ENTRY", 3)
    with market.database.reading() as session:
        held = session.execute(
            select(Holding.start_kg, Holding.end_kg)
            .join(Lot, Lot.batch_id == Holding.batch_id)
            .where(Lot.id == "L-0", Holding.account_id == "RETAIL")
            .order_by(Holding.start_kg)
        ).all()
    assert [tuple(row) for row in held] == [(1, 1), (3, 3), (5, 5), (7, 7), (9, 9)]

    # Three kilograms of L-0 are at most three ranges: within the limit.
    assert do_reserve(market, "O-1", 3).holds == (LotHold("L-0", 3),)
    # The other two and more: two ranges of L-0, then one more lot needs a third.
    assert do_reserve(market, "O-2", 2 + 10).holds == (LotHold("L-0", 2), LotHold("L-2", 10))
    for order_id in ("O-1", "O-2"):
        with market.database.unit_of_work() as uow:
            release(uow.session, order_id, now=T0)
            uow.commit()
    # All five of L-0 could need five ranges: refused as the limit, with the stock there.
    with pytest.raises(TooManyLots, match="more than 3 lots or serial ranges") as refused:
        do_reserve(market, "O-3", 5)
    assert refused.value.field == "quantity_kg"
    with market.database.unit_of_work() as uow:  # a quote allocates as a reservation does
        buyer = uow.session.scalars(select(Organisation.id)).first()
        with pytest.raises(TooManyLots):
            create_quote(uow.session, organisation_id=buyer, quantity_kg=5, filters=ANY_LOT, now=T0)


def test_an_order_from_a_scattered_lot_is_fulfilled_by_one_entry_within_the_limit(market, monkeypatch):
    list_scattered_lot(market, "L-0", ranges=5)
    monkeypatch.setattr(limits, "MAX_RANGES_PER_ENTRY", 3)
    do_reserve(market, "O-other", 3)  # L-0 keeps 2 kg available
    with market.database.unit_of_work() as uow:
        row = order_store.place_and_reserve(
            uow.session, individual_order(2 + 10, ANY_LOT, public=True), now=T0, ttl_s=600
        )
        holds = order_store.load(uow.session, row).reservation.holds
        assert holds == (LotHold("L-0", 2), LotHold("L-2", 10))
        order_store.record_invoice_payment(
            uow.session,
            market.sequencer,
            row,
            reference="BANK-1",
            amount_fen=row.price_fen,
            now=T0 + timedelta(minutes=1),
            ledger_account_of_buyer=None,
        )
        uow.commit()
        assert row.state == "fulfilled"
        seq = row.fulfilment_seq
    with market.database.reading() as session:
        body = session.scalar(select(Entry.body).where(Entry.seq == seq))
    # RETAIL's two lowest kilograms of the scattered batch, then ten of L-2's: three ranges, the limit.
    ranges = parse_body(body.encode()).data["ranges"]
    assert [(item["start"], item["end"]) for item in ranges] == [(1, 1), (3, 3), (1, 10)]
    monkeypatch.undo()  # the listing's entry named five ranges, more than the lowered limit
    assert market.verify().size == seq + 1


def test_expiry_releases_only_the_reservations_that_are_due(market):
    do_reserve(market, "O-short", 1_000, LotFilters(zone="川西南"), ttl_s=60)
    do_reserve(market, "O-long", 2_000, LotFilters(zone="川西南"), ttl_s=3_600)
    # Past its expiry but not yet expired by the job, a reservation still holds its stock.
    assert available(market, "L-1") == 7_000
    with market.database.unit_of_work() as uow:
        assert expire_due(uow.session, T0 + timedelta(seconds=59)) == []
        assert expire_due(uow.session, T0 + timedelta(seconds=60)) == ["O-short"]
        assert expire_due(uow.session, T0 + timedelta(seconds=61)) == []
        uow.commit()
    assert available(market, "L-1") == 8_000
    with market.database.reading() as session:
        causes = dict(session.execute(select(LotReservation.order_id, LotReservation.release_cause)).all())
    assert causes == {"O-short": "expired", "O-long": None}


def test_suspended_lots_are_neither_found_nor_reserved(market):
    with market.database.unit_of_work() as uow:
        uow.session.get(Lot, "L-2").status = "suspended"
        uow.commit()
    allocation = do_reserve(market, "O-1", 1_000)
    assert allocation.holds == (LotHold("L-1", 1_000),)


def move_out_of_retail(service, lot_id, quantity_kg):
    """RETAIL transfers ``quantity_kg`` of the lot's batch to ENT-A (sold outside the marketplace)."""
    with service.database.unit_of_work() as uow:
        batch = uow.session.get(Lot, lot_id).batch_id
        service.sequencer.append(
            uow.session,
            [
                Transfer(
                    f"out-{quantity_kg}",
                    "RETAIL",
                    "ENT-A",
                    Selection(quantity_kg=quantity_kg, batches=(batch,)),
                )
            ],
        )
        uow.commit()


def test_stock_that_left_retail_is_no_longer_available(market):
    move_out_of_retail(market, "L-2", 3_000)
    assert available(market, "L-2") == 7_000


def test_the_longest_hold_allowed_is_accepted(market):
    do_reserve(market, "O-week", 1, ttl_s=MAX_RESERVATION_TTL_S)
    with market.database.reading() as session:
        row = session.execute(select(LotReservation.reserved_at, LotReservation.expires_at)).one()
    assert row.expires_at - row.reserved_at == timedelta(days=7)


def test_a_lot_whose_batch_left_retail_entirely_has_nothing_to_reserve(market):
    move_out_of_retail(market, "L-2", 10_000)
    assert available(market, "L-2") == 0
    with pytest.raises(InsufficientStock):
        do_reserve(market, "O-1", 1, LotFilters(vintage_to="2019"))  # L-2 alone


def test_an_order_id_may_be_one_to_the_ledgers_request_id_length(market):
    longest = "O" * limits.MAX_REQUEST_ID_CHARS
    assert do_reserve(market, "O", 1).quantity_kg == 1
    assert do_reserve(market, longest, 1).quantity_kg == 1
    for refused_id in ("", longest + "1", 42):
        with pytest.raises(InvalidLot) as refused:
            do_reserve(market, refused_id, 1)
        assert refused.value.field == "order_id"


def test_bad_reservation_input_names_its_field(market):
    for kwargs, field in (
        ({"order_id": "bad id"}, "order_id"),
        ({"quantity_kg": 0}, "quantity_kg"),
        ({"ttl_s": 0}, "ttl_s"),
        ({"ttl_s": MAX_RESERVATION_TTL_S + 1}, "ttl_s"),
        ({"ttl_s": True}, "ttl_s"),
        ({"ttl_s": 60.0}, "ttl_s"),
        ({"ttl_s": "60"}, "ttl_s"),
        ({"now": datetime(2026, 1, 1)}, "now"),  # noqa: DTZ001 (a naive time is what is refused)
    ):
        arguments = {"order_id": "O-1", "quantity_kg": 1, "now": T0, "ttl_s": 60} | kwargs
        with market.database.unit_of_work() as uow, pytest.raises(InvalidLot) as refused:
            reserve(
                uow.session,
                arguments.pop("order_id"),
                arguments.pop("quantity_kg"),
                LotFilters(),
                **arguments,
            )
        assert refused.value.field == field


def quote_for(service, quantity_kg, filters=ANY_LOT, **options):
    with service.database.unit_of_work() as uow:
        buyer = uow.session.scalars(select(Organisation.id)).first()
        quote = create_quote(
            uow.session, organisation_id=buyer, quantity_kg=quantity_kg, filters=filters, now=T0, **options
        )
        lines = [(line.lot_id, line.quantity_kg) for line in lines_of(uow.session, quote.id)]
        valid_for = as_utc(quote.valid_until) - T0
        uow.commit()
    return lines, valid_for


def test_a_quote_follows_the_buyers_poverty_area_preference(market):
    # L-1 (2021) and L-3 (2022) are in former poverty counties; L-2 (2019) is the oldest vintage.
    assert quote_for(market, 1_000, LotFilters(prefer_poverty_area=True))[0] == [("L-1", 1_000)]
    preferred = [("L-1", 10_000), ("L-3", 10_000), ("L-2", 5_000)]
    assert quote_for(market, 25_000, LotFilters(prefer_poverty_area=True))[0] == preferred
    oldest_first = [("L-2", 10_000), ("L-1", 10_000), ("L-3", 5_000)]
    assert quote_for(market, 25_000, LotFilters(prefer_poverty_area=False))[0] == oldest_first


@pytest.mark.parametrize("validity_s", [1, MAX_QUOTE_VALIDITY_S])
def test_a_quote_is_valid_for_the_time_asked(market, validity_s):
    assert quote_for(market, 10, validity_s=validity_s)[1] == timedelta(seconds=validity_s)


@pytest.mark.parametrize("validity_s", [0, MAX_QUOTE_VALIDITY_S + 1, True, 60.0])
def test_a_quote_with_a_bad_validity_is_refused_naming_it(market, validity_s):
    with pytest.raises(QuoteError) as refused:
        quote_for(market, 10, validity_s=validity_s)
    assert refused.value.field == "validity_s"


def test_a_quote_is_reserved_only_by_its_organisation_within_its_validity(market):
    with market.database.unit_of_work() as uow:
        session = uow.session
        buyer = session.scalars(select(Organisation.id)).first()
        other = Organisation(name="企业乙", kind="enterprise", created_at=T0)
        session.add(other)
        session.flush()
        quote = create_quote(
            session, organisation_id=buyer, quantity_kg=10, filters=ANY_LOT, now=T0, validity_s=60
        )

        def accept(organisation_id=buyer, now=T0 + timedelta(seconds=59), ttl_s=600):
            return reserve_quoted(
                session,
                quote.id,
                "O-Q",
                organisation_id=organisation_id,
                quantity_kg=10,
                now=now,
                ttl_s=ttl_s,
            )

        with pytest.raises(QuoteNotFound):
            accept(organisation_id=other.id)
        for ttl_s in (0, MAX_RESERVATION_TTL_S + 1, True):
            with pytest.raises(InvalidLot) as refused:
                accept(ttl_s=ttl_s)
            assert refused.value.field == "ttl_s"
        with pytest.raises(QuoteExpired):  # valid until T0 + 60 s, not at that moment
            accept(now=T0 + timedelta(seconds=60))
        assert accept(ttl_s=MAX_RESERVATION_TTL_S).holds == (LotHold("L-2", 10),)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": " "}, "reason"),
        ({"reason": "x" * (MAX_REASON_CHARS + 1)}, "reason"),
        ({"actor": ""}, "actor"),
        ({"actor": "x" * (MAX_ACTOR_CHARS + 1)}, "actor"),
        ({"now": datetime(2026, 11, 24, 9, 0)}, "now"),  # noqa: DTZ001 (a naive time is refused)
    ],
)
def test_a_lot_status_change_with_a_bad_reason_actor_or_time_is_refused_and_recorded_nowhere(
    market, change, field
):
    for step in (suspend_lot, resume_lot):
        with market.database.unit_of_work() as uow:
            arguments = {"actor": "登记中心", "reason": "权属争议待核实", "now": T0} | change
            with pytest.raises(ReversalError) as refused:
                step(uow.session, "L-1", **arguments)
            assert refused.value.field == field
    with market.database.reading() as session:
        assert session.scalar(select(func.count()).select_from(LotStatusChange)) == 0
        assert session.get(Lot, "L-1").status == "listed"
