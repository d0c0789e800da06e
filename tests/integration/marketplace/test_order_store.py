"""Persisted orders on SQLite and PostgreSQL: place → reserve → invoice payment → fulfilment on the ledger,
a retried fulfilment that appends nothing, expiry that releases stock, and events that replay to the state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from tests_support import add_listed_lot, individual_order

from ledger.service import LedgerService
from marketplace import order_store
from marketplace.lots import LotFilters, available_kg
from marketplace.models import Certificate, Lot, MarketOrder, MarketOrderEvent
from marketplace.orders import DuplicatePayment, OrderState, replay
from marketplace.payments import settlement
from marketplace.payments.models import PaymentAttempt, PaymentRefund
from marketplace.payments.provider import CURRENCY, EventKind, ProviderEvent

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def market(request: pytest.FixtureRequest) -> LedgerService:
    service: LedgerService = request.getfixturevalue("service" if request.param == "sqlite" else "pg_service")
    with service.database.unit_of_work() as uow:
        session = uow.session
        add_listed_lot(
            session,
            service.sequencer,
            created_at=T0,
            issued_kg=1_000,
            listed_kg=1_000,
            price_fen_per_t=33_333,
        )
        uow.commit()
    return service


def new_order(quantity_kg: int = 7) -> order_store.NewOrder:
    return individual_order(quantity_kg, LotFilters(poverty_area_only=True))


def pay_by_invoice(market: LedgerService, order_id: str, *, now: datetime, reference: str = "BANK-1"):
    with market.database.unit_of_work() as uow:
        row = uow.session.get(MarketOrder, order_id)
        order_store.record_invoice_payment(
            uow.session,
            market.sequencer,
            row,
            reference=reference,
            amount_fen=row.price_fen,
            now=now,
            ledger_account_of_buyer=None,
        )
        uow.commit()


def test_an_order_is_priced_reserved_paid_and_retired_once(market):
    with market.database.unit_of_work() as uow:
        row = order_store.place_and_reserve(uow.session, new_order(), now=T0, ttl_s=600)
        order_id = row.id
        assert row.price_fen == 234  # 7 kg × 333.33 fen/kg = 233.331, rounded up
        uow.commit()
    pay_by_invoice(market, order_id, now=T0 + timedelta(minutes=1))
    size = market.size()
    with market.database.unit_of_work() as uow:
        row = uow.session.get(MarketOrder, order_id)
        assert row.state == "fulfilled"
        # A retried fulfilment and a replayed payment append nothing.
        order_store.fulfil(
            uow.session, market.sequencer, row, now=T0 + timedelta(minutes=2), ledger_account_of_buyer=None
        )
        order_store.record_invoice_payment(
            uow.session,
            market.sequencer,
            row,
            reference="BANK-1",
            amount_fen=234,
            now=T0 + timedelta(minutes=2),
            ledger_account_of_buyer=None,
        )
        order = order_store.load(uow.session, row)
        assert replay(order.events) is OrderState.FULFILLED
        assert len(order.events) == 3
        certificates = uow.session.scalars(select(Certificate).where(Certificate.order_id == order_id)).all()
        assert [c.seq for c in certificates] == [row.fulfilment_seq]
        uow.commit()
    assert market.size() == size
    with market.database.reading() as session:
        assert available_kg(session, session.get(Lot, "L-1")) == 993
    assert market.verify().size == size


def test_the_expiry_job_expires_unpaid_orders_and_releases_their_stock(market):
    with market.database.unit_of_work() as uow:
        order_id = order_store.place_and_reserve(uow.session, new_order(1_000), now=T0, ttl_s=60).id
        uow.commit()
    with market.database.unit_of_work() as uow:
        assert order_store.expire_due_orders(uow.session, T0 + timedelta(seconds=59)) == []
        assert order_store.expire_due_orders(uow.session, T0 + timedelta(seconds=60)) == [order_id]
        uow.commit()
    with market.database.reading() as session:
        assert session.get(MarketOrder, order_id).state == "expired"
        assert available_kg(session, session.get(Lot, "L-1")) == 1_000


def test_order_events_and_certificates_cannot_be_changed(market):
    with market.database.unit_of_work() as uow:
        order_id = order_store.place_and_reserve(uow.session, new_order(), now=T0, ttl_s=600).id
        uow.commit()
    with pytest.raises(Exception, match="append-only"), market.database.unit_of_work() as uow:
        uow.session.execute(
            update(MarketOrderEvent).where(MarketOrderEvent.order_id == order_id).values(detail="rewritten")
        )


# A request reads its clock, then may wait for the order's lock while another request records an event at a
# later reading of its own clock. The waiting request is processed second, so its events come after.


def event_times(market: LedgerService, order_id: str) -> list[tuple[str, datetime]]:
    with market.database.reading() as session:
        order = order_store.load(session, session.get(MarketOrder, order_id))
        return [(event.cause.value, event.at) for event in order.events]


def test_a_payment_that_waited_behind_the_expiry_job_is_taken_as_a_late_payment(market):
    with market.database.unit_of_work() as uow:
        order_id = order_store.place_and_reserve(uow.session, new_order(), now=T0, ttl_s=60).id
        uow.commit()
    expired_at = T0 + timedelta(seconds=90)
    with market.database.unit_of_work() as uow:
        assert order_store.expire_due_orders(uow.session, expired_at) == [order_id]
        uow.commit()

    pay_by_invoice(market, order_id, now=T0 + timedelta(seconds=30))

    assert event_times(market, order_id) == [
        ("reserve", T0),
        ("reservation_expired", expired_at),
        ("re_reserved_after_late_payment", expired_at),
        ("payment_succeeded", expired_at),
        ("fulfil", expired_at),
    ]
    with market.database.reading() as session:
        assert session.get(MarketOrder, order_id).state == "fulfilled"


def test_a_card_payment_that_waited_behind_an_invoice_payment_is_refunded_as_a_duplicate(market):
    with market.database.unit_of_work() as uow:
        row = order_store.place_and_reserve(uow.session, new_order(), now=T0, ttl_s=600)
        order_id, price_fen = row.id, row.price_fen
        uow.session.add(
            PaymentAttempt(
                order_id=order_id,
                position=1,
                provider="stripe",
                provider_payment_id="pi_waited",
                amount_fen=price_fen,
                currency=CURRENCY,
                status="open",
                created_at=T0,
                updated_at=T0,
            )
        )
        uow.commit()
    paid_at = T0 + timedelta(minutes=2)
    pay_by_invoice(market, order_id, now=paid_at)
    event = ProviderEvent(
        "stripe",
        "evt_waited",
        "payment_intent.succeeded",
        EventKind.SUCCEEDED,
        "pi_waited",
        order_id,
        price_fen,
        CURRENCY,
    )

    with market.database.unit_of_work() as uow:
        result = settlement.apply_event(uow.session, market.sequencer, event, now=T0 + timedelta(minutes=1))
        uow.commit()

    assert result.order_state == "fulfilled"
    assert result.outcome.endswith("owed (duplicate_payment)"), result.outcome
    with market.database.reading() as session:
        [refund] = session.scalars(select(PaymentRefund).where(PaymentRefund.order_id == order_id))
        assert (refund.reason, refund.amount_fen, refund.status) == (
            "duplicate_payment",
            price_fen,
            "pending",
        )
    assert [cause for cause, _ in event_times(market, order_id)] == ["reserve", "payment_succeeded", "fulfil"]


def test_an_invoice_payment_that_waited_behind_another_is_refused_as_a_duplicate(market):
    with market.database.unit_of_work() as uow:
        order_id = order_store.place_and_reserve(uow.session, new_order(), now=T0, ttl_s=600).id
        uow.commit()
    pay_by_invoice(market, order_id, now=T0 + timedelta(minutes=2), reference="BANK-1")

    with pytest.raises(DuplicatePayment):
        pay_by_invoice(market, order_id, now=T0 + timedelta(minutes=1), reference="BANK-2")
