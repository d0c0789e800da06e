"""Events, compliance retirements, statements and quotes on SQLite and PostgreSQL: an event sized by the
calculator and offset by an order retired in its name; an enterprise's compliance retirement with its
certificate, retried without retiring twice; the statement of what an account holds and what touched it;
and the database refusing to change quotes, events or certificates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from tests_support import add_listed_lot

from ledger.account_index import index_new_entries
from ledger.commands import Selection, Transfer
from ledger.entries import parse_body
from ledger.errors import IdempotencyConflict, InsufficientHolding
from ledger.models import Entry
from ledger.ranges import SerialRange
from ledger.service import LedgerService
from marketplace import compliance, events, order_store, quotes, statements
from marketplace.journey_models import CarbonNeutralEvent, Quote
from marketplace.lots import LotFilters
from marketplace.models import Certificate, Lot, MarketOrder
from offsets import footprints
from offsets.errors import Conflict
from offsets.models import Organisation
from offsets.projects import register_organisation

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PERIOD = "2025 年度履约 / compliance year 2025"


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def market(request: pytest.FixtureRequest) -> LedgerService:
    service: LedgerService = request.getfixturevalue("service" if request.param == "sqlite" else "pg_service")
    with service.database.unit_of_work() as uow:
        session = uow.session
        add_listed_lot(
            session,
            service.sequencer,
            created_at=T0,
            issued_kg=10_000,
            listed_kg=8_000,
            price_fen_per_t=50_000,
        )
        uow.commit()
    return service


def organisation(service: LedgerService, name: str, kind: str) -> tuple[int, str | None]:
    with service.database.unit_of_work() as uow:
        row = register_organisation(uow.session, name, kind)
        uow.commit()
        return row.id, row.ledger_account_id


def give(service: LedgerService, account: str, quantity_kg: int, request_id: str = "give:1") -> None:
    """Move kilograms from the retail inventory to ``account``, as an enterprise order's fulfilment does."""
    with service.database.unit_of_work() as uow:
        command = Transfer(request_id, "RETAIL", account, Selection(quantity_kg=quantity_kg))
        service.sequencer.append(uow.session, [command])
        uow.commit()


def retire(service: LedgerService, organisation_id: int, key: str, **request) -> Certificate:
    with service.database.unit_of_work() as uow:
        certificate = compliance.retire_for_compliance(
            uow.session,
            service.sequencer,
            organisation_id=organisation_id,
            request=compliance.ComplianceRetirement(compliance_period=PERIOD, **request),
            request_key=key,
            now=T0,
        )
        uow.commit()
        return certificate


def insert(service: LedgerService, row: object) -> None:
    with service.database.unit_of_work() as uow:
        uow.session.add(row)
        uow.session.flush()


# --- compliance retirement -------------------------------------------------------------------------------


def test_an_enterprise_retires_what_it_holds_for_a_period_once_however_often_it_retries(market):
    enterprise_id, account = organisation(market, "成都绿色制造有限公司", "enterprise")
    give(market, account, 2_000)
    first = retire(market, enterprise_id, "key-1", quantity_kg=1_500)
    size = market.size()
    again = retire(market, enterprise_id, "key-1", quantity_kg=1_500)
    assert again.id == first.id
    assert market.size() == size
    assert (first.order_id, first.organisation_id) == (None, enterprise_id)
    with market.database.reading() as session:
        data = parse_body(session.scalar(select(Entry.body).where(Entry.seq == first.seq)).encode()).data
    assert data["account"] == account
    assert data["beneficiary"] == {"public": True, "name": "成都绿色制造有限公司"}
    assert (data["reason"], data["details"], data["quantity_kg"]) == ("compliance_period", PERIOD, 1_500)

    # The same key for another request is refused by the ledger; more than held is refused too.
    with pytest.raises(IdempotencyConflict):
        retire(market, enterprise_id, "key-1", quantity_kg=10)
    with pytest.raises(InsufficientHolding):
        retire(market, enterprise_id, "key-2", quantity_kg=501)
    second = retire(market, enterprise_id, "key-3", quantity_kg=500)
    assert second.seq == first.seq + 1
    assert market.verify().size == market.size()


def test_an_enterprise_may_name_the_exact_ranges_it_retires(market):
    enterprise_id, account = organisation(market, "成都绿色制造有限公司", "enterprise")
    give(market, account, 100)
    with market.database.reading() as session:
        batch_id = session.scalar(select(Lot.batch_id).where(Lot.id == "L-1"))
    certificate = retire(market, enterprise_id, "k", ranges=(SerialRange(batch_id, 11, 20),))
    with market.database.reading() as session:
        data = parse_body(
            session.scalar(select(Entry.body).where(Entry.seq == certificate.seq)).encode()
        ).data
    assert [(item["start"], item["end"]) for item in data["ranges"]] == [(11, 20)]


def test_only_an_enterprise_retires_for_a_compliance_period(market):
    organiser_id, _ = organisation(market, "成都国际会展有限公司", "organiser")
    with pytest.raises(Conflict):
        retire(market, organiser_id, "k", quantity_kg=1)


# --- statements ------------------------------------------------------------------------------------------


def test_a_statement_shows_holdings_by_batch_and_every_entry_that_touched_the_account(market):
    enterprise_id, account = organisation(market, "成都绿色制造有限公司", "enterprise")
    give(market, account, 700, "give:1")
    give(market, account, 300, "give:2")
    certificate = retire(market, enterprise_id, "k", quantity_kg=250)
    with market.database.reading() as session:
        result = statements.statement(session, enterprise_id)
        day = date.fromisoformat(
            parse_body(session.scalar(select(Entry.body).where(Entry.seq == certificate.seq)).encode()).time[
                :10
            ]
        )
        limited = statements.statement(session, enterprise_id, since=day + timedelta(days=1))
    [held] = result.holdings
    assert (held.project_code, held.project_name, held.vintage, held.quantity_kg) == (
        "YY01",
        "盐源县造林碳汇",
        "2021",
        750,
    )
    assert [(item.start, item.end) for item in held.ranges] == [(251, 1_000)]
    assert [(line.movement, line.quantity_kg) for line in result.history] == [
        ("transfer_in", 700),
        ("transfer_in", 300),
        ("retired", 250),
    ]
    assert result.history[2].certificate_id == certificate.id
    assert result.totals_kg == {"transfer_in": 1_000, "retired": 250}
    assert limited.history == ()
    assert limited.held_kg == 750
    # The same statement once the account index has caught up, and with it only part of the way.
    for limit in (2, 100):
        with market.database.unit_of_work() as uow:
            index_new_entries(uow.session, limit)
            uow.commit()
        with market.database.reading() as session:
            assert statements.statement(session, enterprise_id) == result


def test_a_project_owners_statement_starts_with_its_issuance(market):
    with market.database.reading() as session:
        owner = session.scalar(select(Organisation).where(Organisation.ledger_account_id == "OWN-A"))
        result = statements.statement(session, owner.id)
    assert [(line.movement, line.quantity_kg) for line in result.history] == [
        ("issued", 10_000),
        ("transfer_out", 8_000),
    ]
    assert result.history[1].counterparty == "RETAIL"
    assert result.held_kg == 2_000


# --- events ---------------------------------------------------------------------------------------------


def test_an_event_is_sized_offset_in_its_name_and_becomes_carbon_neutral(market):
    organiser_id, _ = organisation(market, "成都国际会展有限公司", "organiser")
    details = events.EventDetails(
        name="2026 成都国际林业碳汇论坛",
        starts_on=date(2026, 12, 1),
        ends_on=date(2026, 12, 2),
        place="成都世纪城国际会议中心",
        attendees=500,
        county_code="510107",
    )
    measured = {"accommodation_catering": Decimal("800.25")}
    activities = footprints.EventInputs(attendees=500, days=2, measured_kg=measured)
    with market.database.unit_of_work() as uow:
        event = events.register_event(
            uow.session,
            organisation_id=organiser_id,
            details=details,
            activities=activities,
            calculator_input={"measured_kg": {"accommodation_catering": "800.25"}},
            factors=footprints.packaged(),
            now=T0,
        )
        row = events.place_event_order(
            uow.session,
            event,
            buyer_display_name="成都国际会展有限公司",
            quantity_kg=None,
            filters=LotFilters(),
            now=T0,
            ttl_s=600,
        )
        event_id, order_id, footprint_kg = event.id, row.id, event.footprint_kg
        uow.commit()
    assert footprint_kg == 801  # 800.25 kg rounded up
    with market.database.reading() as session:
        assert events.public_record(session, event_id).carbon_neutral is False
    with market.database.unit_of_work() as uow:
        row = uow.session.get(MarketOrder, order_id)
        assert (row.quantity_kg, row.event_id, row.beneficiary_name) == (801, event_id, details.name)
        order_store.record_invoice_payment(
            uow.session,
            market.sequencer,
            row,
            reference="BANK-E1",
            amount_fen=row.price_fen,
            now=T0 + timedelta(minutes=1),
            ledger_account_of_buyer=None,
        )
        uow.commit()
    with market.database.reading() as session:
        record = events.public_record(session, event_id)
        certificate_id, seq = session.execute(
            select(Certificate.id, Certificate.seq).where(Certificate.order_id == order_id)
        ).one()
        data = parse_body(session.scalar(select(Entry.body).where(Entry.seq == seq)).encode()).data
    assert (record.offset_kg, record.certificate_ids, record.carbon_neutral) == (801, (certificate_id,), True)
    assert data["beneficiary"] == {"public": True, "name": details.name}
    assert data["reason"] == "event"
    assert "2026-12-01至2026-12-02" in data["details"]
    assert details.place in data["details"]


def test_an_event_whose_activities_come_to_nothing_is_refused(market):
    organiser_id, _ = organisation(market, "成都国际会展有限公司", "organiser")
    details = events.EventDetails("空活动", date(2026, 12, 1), date(2026, 12, 1), "成都", 10)
    with pytest.raises(Exception, match="0 kg") as refused, market.database.unit_of_work() as uow:
        events.register_event(
            uow.session,
            organisation_id=organiser_id,
            details=details,
            activities=footprints.EventInputs(attendees=10, days=1),
            calculator_input={},
            factors=footprints.packaged(),
            now=T0,
        )
    assert refused.value.field == "footprint"


# --- the database's own guards ------------------------------------------------------------------------


def test_quotes_events_and_certificates_cannot_be_changed_and_a_certificate_names_its_origin(market):
    enterprise_id, account = organisation(market, "成都绿色制造有限公司", "enterprise")
    give(market, account, 10)
    certificate = retire(market, enterprise_id, "k", quantity_kg=10)
    with market.database.unit_of_work() as uow:
        quote = quotes.create_quote(
            uow.session, organisation_id=enterprise_id, quantity_kg=5, filters=LotFilters(), now=T0
        )
        quote_id = quote.id
        uow.commit()
    for table, column, key, value in (
        (Quote, Quote.total_fen, Quote.id == quote_id, 1),
        (Certificate, Certificate.organisation_id, Certificate.id == certificate.id, None),
    ):
        with pytest.raises(Exception, match="append-only"), market.database.unit_of_work() as uow:
            uow.session.execute(update(table).where(key).values({column: value}))
    orphan = Certificate(id="orphan", order_id=None, organisation_id=None, seq=0, created_at=T0)
    with pytest.raises(IntegrityError):
        insert(market, orphan)
    with market.database.reading() as session:
        assert session.scalar(select(func.count()).select_from(CarbonNeutralEvent)) == 0
