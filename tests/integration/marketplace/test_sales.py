"""Sales and farmer-share payouts on SQLite and PostgreSQL: real orders placed, paid by invoice and
fulfilled on the ledger; revenue per lot and county; payouts refused beyond what is owed, idempotent on
their request id, corrected by new records; and the table refuses to change a recorded payout."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sales_support import add_shared_lots
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError
from tests_support import individual_order

from ledger.service import LedgerService
from marketplace import order_store, sales
from marketplace.lots import LotFilters
from marketplace.models import MarketOrder
from marketplace.orders import OrderKind
from marketplace.sales_models import FarmerPayout

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PAID_AT = T0 + timedelta(days=3)
NOW = T0 + timedelta(days=4)


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def market(request: pytest.FixtureRequest) -> LedgerService:
    """Three lots: 盐源县 (poverty, 30 %), 锦江区 (not, 12.5 %), 越西县 (poverty, no share); two orders
    fulfilled (one across two lots), one only reserved."""
    service: LedgerService = request.getfixturevalue("service" if request.param == "sqlite" else "pg_service")
    lots = [
        ("L-A", "YY01", "513423", "川西南", 50_000, "30"),
        ("L-B", "JJ01", "510104", "川中", 80_000, "12.5"),
        ("L-C", "YX01", "513434", "川西南", 33_333, "0"),
    ]
    add_shared_lots(service, lots, quantity_kg=1_000, at=T0)
    buy(service, 1_200, LotFilters(prefer_poverty_area=True), pay=True)  # L-A 1,000 kg + L-C 200 kg
    buy(service, 10, LotFilters(zone="川中"), pay=True)  # L-B
    buy(service, 5, LotFilters(zone="川中"), pay=False)  # reserved, not sold
    return service


def buy(service: LedgerService, quantity_kg: int, filters: LotFilters, *, pay: bool) -> str:
    with service.database.unit_of_work() as uow:
        row = order_store.place_and_reserve(
            uow.session, individual_order(quantity_kg, filters), now=T0, ttl_s=600
        )
        if pay:
            order_store.record_invoice_payment(
                uow.session,
                service.sequencer,
                row,
                reference=f"BANK-{row.id[-6:]}",
                amount_fen=row.price_fen,
                now=T0 + timedelta(minutes=1),
                ledger_account_of_buyer=None,
            )
        uow.commit()
        return row.id


def payout(amount_fen: int, **changes) -> sales.NewPayout:
    terms = {
        "amount_fen": amount_fen,
        "paid_at": PAID_AT,
        "recipient_kind": "collective",
        "recipient": "锦江区三圣街道村集体",
        "reference": "ICBC-20261127-001",
    } | changes
    return sales.NewPayout(**terms)


def record(service: LedgerService, lot_id: str, terms: sales.NewPayout, request_id: str) -> FarmerPayout:
    with service.database.unit_of_work() as uow:
        row = sales.record_payout(
            uow.session, lot_id, terms, request_id=request_id, entered_by="登记中心 / test", now=NOW
        )
        uow.commit()
        return row


def test_only_fulfilled_orders_count_and_each_lot_earns_its_holds_price(market):
    with market.database.reading() as session:
        per_lot = {item.lot.lot_id: item for item in sales.lot_sales(session)}
        assert session.query(MarketOrder).filter(MarketOrder.state == "reserved").count() == 1
    assert (per_lot["L-A"].orders, per_lot["L-A"].sold_kg, per_lot["L-A"].revenue_fen) == (1, 1_000, 50_000)
    assert (per_lot["L-C"].sold_kg, per_lot["L-C"].revenue_fen) == (200, 6_667)  # 6,666.6 fen, rounded up
    assert (per_lot["L-B"].sold_kg, per_lot["L-B"].revenue_fen) == (10, 800)  # not the reserved 5 kg
    assert per_lot["L-A"].farmer_share_owed_fen == 15_000
    assert per_lot["L-B"].farmer_share_owed_fen == 100
    assert per_lot["L-C"].farmer_share_owed_fen == 0
    with market.database.reading() as session:
        order_prices = sorted(
            price
            for (price,) in session.query(MarketOrder.price_fen).filter(MarketOrder.state == "fulfilled")
        )
    # Every fulfilled order's price is found again, split over its lots.
    assert order_prices == [800, 56_667]
    assert sum(item.revenue_fen for item in per_lot.values()) == 57_467


def test_counties_and_the_public_summary_add_up_the_lots(market):
    with market.database.reading() as session:
        counties = {item.county_code: item for item in sales.county_sales(session)}
        summary = sales.poverty_summary(session)
    assert sorted(counties) == ["510104", "513423", "513434"]
    assert counties["513423"].poverty_county is True
    assert counties["510104"].poverty_county is False
    assert (counties["510104"].sold_kg, counties["510104"].revenue_fen) == (10, 800)
    assert (summary.total.sold_kg, summary.total.revenue_fen) == (1_210, 57_467)
    assert (summary.total.poverty_area_kg, summary.total.poverty_area_revenue_fen) == (1_200, 56_667)
    assert summary.total.poverty_area_kg_percent == "99.17"
    assert summary.by_zone["川西南"].sold_kg == 1_200
    assert summary.by_zone["川中"].poverty_area_kg == 0
    assert summary.farmer_share_owed_fen == 15_100


def test_a_payout_beyond_what_is_owed_is_refused_and_nothing_is_written(market):
    first = record(market, "L-B", payout(60), "req-1")
    assert first.amount_fen == 60
    with pytest.raises(sales.PayoutExceedsOwed) as refused:
        record(market, "L-B", payout(41, reference="ICBC-002"), "req-2")
    assert refused.value.field == "amount_fen"
    assert "at most 40 fen" in refused.value.message
    record(market, "L-B", payout(40, reference="ICBC-003"), "req-3")
    with pytest.raises(sales.PayoutExceedsOwed):
        record(market, "L-C", payout(1, recipient_kind="household", recipient="吉克阿依"), "req-4")
    with market.database.reading() as session:
        item = sales.sales_of_lot(session, "L-B")
        assert [row.amount_fen for row in sales.payouts_of(session, "L-B")] == [60, 40]
    assert (item.farmer_share_paid_fen, item.farmer_share_outstanding_fen) == (100, 0)


def test_a_repeated_request_id_records_once_and_different_terms_under_it_are_refused(market):
    first = record(market, "L-A", payout(1_000), "req-same")
    again = record(market, "L-A", payout(1_000), "req-same")
    assert again.id == first.id
    with pytest.raises(sales.PayoutConflict) as refused:
        record(market, "L-A", payout(999), "req-same")
    assert refused.value.field == "request_id"
    with market.database.reading() as session:
        assert sales.sales_of_lot(session, "L-A").farmer_share_paid_fen == 1_000


def test_a_correction_is_a_new_negative_record_that_cannot_take_back_more_than_was_paid(market):
    original = record(market, "L-A", payout(5_000), "req-pay")
    with pytest.raises(sales.InvalidPayout) as refused:
        record(market, "L-A", payout(5_001, corrects_payout_id=original.id, reference="ICBC-REV-0"), "req-0")
    assert refused.value.field == "amount_fen"
    correction = record(
        market, "L-A", payout(1_200, corrects_payout_id=original.id, reference="ICBC-REV-1"), "req-fix"
    )
    assert (correction.amount_fen, correction.corrects_payout_id) == (-1_200, original.id)
    replayed = record(
        market, "L-A", payout(1_200, corrects_payout_id=original.id, reference="ICBC-REV-1"), "req-fix"
    )
    assert replayed.id == correction.id  # the same correction, retried: recorded once
    with pytest.raises(sales.InvalidPayout) as refused:
        record(market, "L-A", payout(3_801, corrects_payout_id=original.id, reference="ICBC-REV-2"), "req-x")
    assert refused.value.field == "amount_fen"
    with pytest.raises(sales.InvalidPayout) as refused:
        record(market, "L-A", payout(1, corrects_payout_id=correction.id, reference="ICBC-REV-3"), "req-y")
    assert refused.value.field == "corrects_payout_id"
    with pytest.raises(sales.InvalidPayout):  # a payout of another lot
        record(market, "L-B", payout(1, corrects_payout_id=original.id, reference="ICBC-REV-4"), "req-z")
    with market.database.reading() as session:
        assert sales.sales_of_lot(session, "L-A").farmer_share_paid_fen == 3_800
        assert [row.amount_fen for row in sales.payouts_of(session, "L-A")] == [5_000, -1_200]
    # What is left of the payout can be taken back, to the last fen.
    record(market, "L-A", payout(3_800, corrects_payout_id=original.id, reference="ICBC-REV-5"), "req-rest")
    with market.database.reading() as session:
        assert sales.sales_of_lot(session, "L-A").farmer_share_paid_fen == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount_fen": 0}, "amount_fen"),
        ({"paid_at": NOW + timedelta(days=1)}, "paid_at"),
        ({"paid_at": datetime(2026, 11, 27, 9, 0)}, "paid_at"),  # noqa: DTZ001  (no time zone: refused)
        ({"recipient_kind": "company"}, "recipient_kind"),
        ({"recipient": "  "}, "recipient"),
        ({"reference": "转账 001"}, "reference"),
        ({"reference": ""}, "reference"),
        ({"reference": "R" * (sales.MAX_REFERENCE_CHARS + 1)}, "reference"),
        ({"note": "补发\x07"}, "note"),
        ({"note": "x" * (sales.MAX_NOTE_CHARS + 1)}, "note"),
    ],
)
def test_bad_payouts_are_refused_naming_the_field(market, changes, field):
    with pytest.raises(sales.InvalidPayout) as refused:
        record(market, "L-A", payout(**({"amount_fen": 10} | changes)), "req-bad")
    assert refused.value.field == field


def test_a_payout_made_at_this_moment_with_a_note_over_several_lines_is_recorded(market):
    note = "2026 年第四季度分红\n经村民代表大会确认"
    row = record(market, "L-A", payout(10, paid_at=NOW, note=note), "req-now")
    assert (row.paid_at.replace(tzinfo=UTC), row.note) == (NOW, note)


def test_a_payout_of_an_unknown_lot_is_not_found(market):
    with market.database.reading() as session, pytest.raises(sales.LotNotFound):
        sales.payouts_of(session, "L-NONE")
    with pytest.raises(sales.LotNotFound):
        record(market, "L-NOPE", payout(10), "req-nope")


def test_the_database_refuses_to_change_or_delete_a_recorded_payout(market):
    row = record(market, "L-A", payout(10), "req-fixed")
    for statement in (
        update(FarmerPayout).where(FarmerPayout.id == row.id).values(amount_fen=1),
        delete(FarmerPayout).where(FarmerPayout.id == row.id),
    ):
        with market.database.unit_of_work() as uow, pytest.raises(DBAPIError, match="append-only"):
            uow.session.execute(statement)
    with market.database.reading() as session:
        assert [item.amount_fen for item in sales.payouts_of(session, "L-A")] == [10]


def test_an_order_re_reserved_after_a_late_payment_is_counted_once(market):
    with market.database.unit_of_work() as uow:
        command = order_store.NewOrder(
            kind=OrderKind.INDIVIDUAL,
            quantity_kg=7,
            buyer_organisation_id=None,
            buyer_display_name="小李",
            beneficiary_name="李雷",
            beneficiary_public=True,
            reason="personal_footprint",
            details="",
            filters=LotFilters(zone="川中"),
        )
        order_id = order_store.place_and_reserve(uow.session, command, now=T0, ttl_s=60).id
        uow.commit()
    with market.database.unit_of_work() as uow:
        assert order_store.expire_due_orders(uow.session, T0 + timedelta(minutes=2)) == [order_id]
        uow.commit()
    with market.database.unit_of_work() as uow:
        row = uow.session.get(MarketOrder, order_id)
        order_store.record_invoice_payment(
            uow.session,
            market.sequencer,
            row,
            reference="BANK-LATE",
            amount_fen=row.price_fen,
            now=T0 + timedelta(minutes=3),
            ledger_account_of_buyer=None,
        )
        assert row.state == "fulfilled"
        uow.commit()
    with market.database.reading() as session:
        item = sales.sales_of_lot(session, "L-B")
    # Two reservations (the expired one and the re-reservation), one sale.
    assert (item.orders, item.sold_kg, item.revenue_fen) == (2, 17, 800 + 560)


@pytest.mark.pg
def test_two_concurrent_payouts_cannot_both_fit_in_what_is_owed(pg_service):
    """PostgreSQL: the second payout waits for the first's lock on the lot, then sees it and is refused."""
    market = pg_service
    add_shared_lots(market, [("L-B", "JJ01", "510104", "川中", 80_000, "12.5")], quantity_kg=1_000, at=T0)
    buy(market, 10, LotFilters(zone="川中"), pay=True)  # owes 100 fen
    first_holds_the_lock = threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        with market.database.unit_of_work() as uow:
            sales.record_payout(uow.session, "L-B", payout(60), request_id="r-1", entered_by="t", now=NOW)
            first_holds_the_lock.set()
            time.sleep(0.5)  # the second one is waiting on the lot's row meanwhile
            uow.commit()
        outcomes["first"] = "recorded"

    def second() -> None:
        first_holds_the_lock.wait(5)
        try:
            record(market, "L-B", payout(60, reference="ICBC-002"), "r-2")
            outcomes["second"] = "recorded"
        except sales.PayoutExceedsOwed:
            outcomes["second"] = "refused"

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcomes == {"first": "recorded", "second": "refused"}
    with market.database.reading() as session:
        assert sales.sales_of_lot(session, "L-B").farmer_share_paid_fen == 60
