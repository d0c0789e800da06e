"""The order state machine, step by step: each allowed step, and each refusal with the field it names."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger.limits import MAX_QUANTITY_KG, MAX_REQUEST_ID_CHARS
from marketplace.orders import (
    FULFILMENT_ENTRY_KIND,
    MAX_DETAIL_CHARS,
    TRANSITIONS,
    Cause,
    DuplicatePayment,
    InvalidOrder,
    LotHold,
    Order,
    OrderError,
    OrderEvent,
    OrderKind,
    OrderState,
    TransitionRefused,
    cancel,
    expire_if_due,
    fulfil,
    needs_stock_decision,
    place_order,
    record_payment,
    record_payment_failure,
    refund,
    replay,
    reserve,
)

S = OrderState
T0 = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
TTL_S = 900
PRICE_FEN = 13_500
HOLDS = (LotHold("LOT-1", 2_000), LotHold("LOT-2", 1_000))


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def created(kind: OrderKind = OrderKind.INDIVIDUAL) -> Order:
    return place_order("ORD-1", kind, 3_000, PRICE_FEN, at=T0)


def reserved() -> Order:
    return reserve(created(), HOLDS, at=at(1), ttl_s=TTL_S)


def paid() -> Order:
    return record_payment(reserved(), provider_event_id="evt_1", amount_fen=PRICE_FEN, at=at(2))


def fulfilled() -> Order:
    return fulfil(paid(), at=at(3), detail="retired as ledger entry 42")


def expired() -> Order:
    return expire_if_due(reserved(), at(1 + TTL_S))


def cancelled() -> Order:
    return cancel(reserved(), at=at(2), detail="changed my mind")


def refunded() -> Order:
    return refund(paid(), at=at(3), detail="buyer asked before retirement")


IN_STATE: dict[OrderState, Callable[[], Order]] = {
    S.CREATED: created,
    S.RESERVED: reserved,
    S.PAID: paid,
    S.FULFILLED: fulfilled,
    S.EXPIRED: expired,
    S.CANCELLED: cancelled,
    S.REFUNDED: refunded,
}
LATER = at(10 * TTL_S)
COMMANDS: dict[Cause, Callable[[Order], Order]] = {
    Cause.RESERVE: lambda order: reserve(order, HOLDS, at=LATER, ttl_s=TTL_S),
    Cause.BUYER_CANCELLED: lambda order: cancel(order, at=LATER),
    Cause.REFUND: lambda order: refund(order, at=LATER, detail="reason"),
    Cause.FULFIL: lambda order: fulfil(order, at=LATER),
}


def test_every_state_has_a_way_to_reach_it() -> None:
    for state, make in IN_STATE.items():
        order = make()
        assert order.state is state
        assert replay(order.events) is state


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("cause", list(COMMANDS))
def test_a_command_succeeds_exactly_where_the_transitions_allow_it(state: OrderState, cause: Cause) -> None:
    order = IN_STATE[state]()
    allowed = {t.target for t in TRANSITIONS if t.source is state and t.cause is cause}
    if allowed:
        assert COMMANDS[cause](order).state in allowed
    else:
        with pytest.raises(TransitionRefused) as refused:
            COMMANDS[cause](order)
        assert refused.value.field == "state"
        assert state.value in refused.value.message


def test_fulfilling_a_fulfilled_order_is_refused_as_final() -> None:
    with pytest.raises(TransitionRefused) as refused:
        fulfil(fulfilled(), at=LATER)
    assert refused.value.field == "state"
    assert refused.value.message == "a fulfilled order cannot become fulfilled by fulfil; it is final"


def test_a_fulfilled_order_cannot_be_refunded() -> None:
    with pytest.raises(TransitionRefused) as refused:
        refund(fulfilled(), at=LATER, detail="too late")
    assert refused.value.field == "state"


def test_a_paid_order_cannot_be_cancelled_only_refunded() -> None:
    with pytest.raises(TransitionRefused) as refused:
        cancel(paid(), at=LATER)
    assert refused.value.field == "state"
    order = refund(paid(), at=LATER, detail="buyer asked")
    assert (order.state, order.paid_fen, order.refunded_fen) == (S.REFUNDED, PRICE_FEN, PRICE_FEN)
    assert order.kept_fen == 0


def test_a_refund_needs_a_reason() -> None:
    with pytest.raises(InvalidOrder) as refused:
        refund(paid(), at=LATER, detail="  ")
    assert refused.value.field == "detail"


def test_reserving_records_the_lots_and_the_expiry() -> None:
    order = reserved()
    assert order.reservation is not None
    assert order.reservation.holds == HOLDS
    assert order.reservation.quantity_kg == order.quantity_kg
    assert order.reservation.expires_at == at(1 + TTL_S)
    assert order.holds_stock
    assert order.events[-1].cause is Cause.RESERVE
    assert order.events[-1].detail == ""


def test_a_reservation_holds_at_most_a_thousand_lots() -> None:
    order = place_order("ORD-M", OrderKind.ENTERPRISE, 1_001, PRICE_FEN, at=T0)
    many = tuple(LotHold(f"LOT-{n}", 1) for n in range(1_001))
    with pytest.raises(InvalidOrder) as refused:
        reserve(order, many, at=at(1), ttl_s=TTL_S)
    assert refused.value.field == "holds"
    order = place_order("ORD-M", OrderKind.ENTERPRISE, 1_000, PRICE_FEN, at=T0)
    assert reserve(order, many[:1_000], at=at(1), ttl_s=TTL_S).state is S.RESERVED


def test_a_detail_of_up_to_a_thousand_characters_is_kept_and_a_longer_one_refused() -> None:
    longest = "因" * MAX_DETAIL_CHARS
    assert cancel(reserved(), at=LATER, detail=f" {longest} ").events[-1].detail == longest
    with pytest.raises(InvalidOrder) as refused:
        cancel(reserved(), at=LATER, detail=longest + "果")
    assert refused.value.field == "detail"


@pytest.mark.parametrize(
    ("holds", "ttl_s", "field"),
    [
        ((), TTL_S, "holds"),
        ((LotHold("LOT-1", 2_999),), TTL_S, "holds"),
        ((LotHold("LOT-1", 1_500), LotHold("LOT-1", 1_500)), TTL_S, "holds.lot_id"),
        ((LotHold("", 3_000),), TTL_S, "holds.lot_id"),
        ((LotHold("LOT-1", 0), LotHold("LOT-2", 3_000)), TTL_S, "holds.quantity_kg"),
        (HOLDS, 0, "ttl_s"),
        (HOLDS, 8 * 24 * 3600, "ttl_s"),
    ],
)
def test_malformed_reservations_are_refused(holds: tuple[LotHold, ...], ttl_s: int, field: str) -> None:
    with pytest.raises(InvalidOrder) as refused:
        reserve(created(), holds, at=at(1), ttl_s=ttl_s)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("order_id", "quantity_kg", "price", "field"),
    [
        ("", 1, 1, "order_id"),
        ("ORD 1", 1, 1, "order_id"),
        ("ORD-1", 0, 1, "quantity_kg"),
        ("ORD-1", True, 1, "quantity_kg"),
        ("ORD-1", 1.5, 1, "quantity_kg"),
        ("ORD-1", 1, 0, "price_fen"),
        ("ORD-1", 1, 2.5, "price_fen"),
    ],
)
def test_malformed_orders_are_refused(order_id: str, quantity_kg: object, price: object, field: str) -> None:
    with pytest.raises(InvalidOrder) as refused:
        place_order(order_id, OrderKind.EVENT, quantity_kg, price, at=T0)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_order_ids_and_quantities_are_accepted_up_to_their_bounds() -> None:
    longest = "O" * MAX_REQUEST_ID_CHARS
    for order_id in ("O", longest):
        order = place_order(order_id, OrderKind.EVENT, MAX_QUANTITY_KG, 1, at=T0)
        assert (order.order_id, order.quantity_kg, order.price_fen) == (order_id, MAX_QUANTITY_KG, 1)
    for order_id, quantity_kg in ((longest + "1", 1), (7, 1), ("O", MAX_QUANTITY_KG + 1)):
        with pytest.raises(InvalidOrder) as refused:
            place_order(order_id, OrderKind.EVENT, quantity_kg, 1, at=T0)  # type: ignore[arg-type]
        assert refused.value.field == ("quantity_kg" if quantity_kg > 1 else "order_id")


def test_times_must_be_utc_and_must_not_go_backwards() -> None:
    naive = datetime(2026, 11, 24, 6, 0)  # noqa: DTZ001 - the point of the test
    beijing = datetime(2026, 11, 24, 14, 0, tzinfo=timezone(timedelta(hours=8)))
    for bad in (naive, beijing):
        with pytest.raises(InvalidOrder) as refused:
            cancel(created(), at=bad)
        assert refused.value.field == "at"
    with pytest.raises(InvalidOrder) as refused:
        cancel(reserved(), at=T0)
    assert refused.value.field == "at"
    with pytest.raises(InvalidOrder) as refused:
        expire_if_due(reserved(), naive)
    assert refused.value.field == "at"


def test_a_payment_for_a_reservation_makes_it_paid() -> None:
    order = paid()
    assert order.state is S.PAID
    assert order.kept_fen == PRICE_FEN
    assert order.processed_provider_event_ids == {"evt_1"}
    assert order.events[-1].provider_event_id == "evt_1"
    assert order.events[-1].detail == ""


def test_a_payment_of_the_wrong_amount_is_refused() -> None:
    with pytest.raises(InvalidOrder) as refused:
        record_payment(reserved(), provider_event_id="evt_1", amount_fen=PRICE_FEN - 1, at=at(2))
    assert refused.value.field == "amount_fen"


def test_a_created_order_cannot_be_paid() -> None:
    with pytest.raises(TransitionRefused) as refused:
        record_payment(created(), provider_event_id="evt_1", amount_fen=PRICE_FEN, at=at(2))
    assert refused.value.field == "state"


@pytest.mark.parametrize("state", [S.PAID, S.FULFILLED, S.REFUNDED])
def test_a_second_different_payment_is_refused_so_the_edge_refunds_it(state: OrderState) -> None:
    with pytest.raises(DuplicatePayment) as refused:
        record_payment(IN_STATE[state](), provider_event_id="evt_2", amount_fen=PRICE_FEN, at=LATER)
    assert refused.value.field == "provider_event_id"


@pytest.mark.parametrize("state", [S.PAID, S.FULFILLED, S.REFUNDED])
def test_a_replayed_payment_event_is_ignored_in_any_later_state(state: OrderState) -> None:
    order = IN_STATE[state]()
    assert record_payment(order, provider_event_id="evt_1", amount_fen=PRICE_FEN, at=LATER) is order


def test_an_unpaid_reservation_expires_at_its_time_not_before() -> None:
    order = reserved()
    assert expire_if_due(order, at(TTL_S)) is order
    gone = expire_if_due(order, at(1 + TTL_S))
    assert gone.state is S.EXPIRED
    assert not gone.holds_stock
    assert gone.events[-1].cause is Cause.RESERVATION_EXPIRED
    assert expire_if_due(paid(), LATER).state is S.PAID


def test_a_payment_before_the_expiry_job_ran_is_accepted_while_stock_is_held() -> None:
    order = record_payment(reserved(), provider_event_id="evt_1", amount_fen=PRICE_FEN, at=at(5 * TTL_S))
    assert order.state is S.PAID


def test_a_late_payment_needs_the_callers_stock_decision() -> None:
    order = expired()
    assert needs_stock_decision(order)
    with pytest.raises(InvalidOrder) as refused:
        record_payment(order, provider_event_id="evt_1", amount_fen=PRICE_FEN, at=LATER)
    assert refused.value.field == "stock_available"


def test_a_late_payment_with_stock_is_re_reserved_and_paid() -> None:
    order = record_payment(
        expired(), provider_event_id="evt_1", amount_fen=PRICE_FEN, at=LATER, stock_available=True
    )
    assert order.state is S.PAID
    assert [event.cause for event in order.events[-3:]] == [
        Cause.RESERVATION_EXPIRED,
        Cause.RE_RESERVED_AFTER_LATE_PAYMENT,
        Cause.PAYMENT_SUCCEEDED,
    ]
    assert order.reservation is not None
    assert order.reservation.reserved_at == LATER
    assert order.kept_fen == PRICE_FEN


def test_a_late_payment_without_stock_is_refunded_not_lost() -> None:
    order = record_payment(
        expired(), provider_event_id="evt_1", amount_fen=PRICE_FEN, at=LATER, stock_available=False
    )
    assert order.state is S.REFUNDED
    assert (order.paid_fen, order.refunded_fen) == (PRICE_FEN, PRICE_FEN)
    assert order.events[-1].cause is Cause.LATE_PAYMENT_REFUNDED


def test_a_payment_for_a_cancelled_order_is_refunded() -> None:
    order = record_payment(cancelled(), provider_event_id="evt_1", amount_fen=PRICE_FEN, at=LATER)
    assert order.state is S.REFUNDED
    assert order.kept_fen == 0


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"provider_event_id": "evt 1"}, "provider_event_id"),
        ({"amount_fen": -PRICE_FEN}, "amount_fen"),
        ({"amount_fen": float(PRICE_FEN)}, "amount_fen"),
        ({"detail": "x" * (MAX_DETAIL_CHARS + 1)}, "detail"),
    ],
)
def test_a_bad_payment_is_refused_naming_its_field(arguments: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidOrder) as refused:
        record_payment(
            reserved(), **({"provider_event_id": "evt_1", "amount_fen": PRICE_FEN, "at": at(2)} | arguments)
        )
    assert refused.value.field == field


def test_an_order_remembers_at_most_a_hundred_provider_events() -> None:
    order = paid()  # one payment event processed
    for n in range(99):
        order = record_payment_failure(order, provider_event_id=f"evt_late_{n}", at=LATER)
    assert len(order.processed_provider_event_ids) == 100
    assert record_payment_failure(order, provider_event_id="evt_late_0", at=LATER) is order  # a replay
    with pytest.raises(InvalidOrder) as refused:
        record_payment_failure(order, provider_event_id="evt_one_too_many", at=LATER)
    assert refused.value.field == "provider_event_id"


def test_a_failed_payment_releases_the_reservation() -> None:
    order = record_payment_failure(reserved(), provider_event_id="evt_f", at=at(2), detail="card_declined")
    assert order.state is S.CANCELLED
    event = order.events[-1]
    assert (event.cause, event.provider_event_id, event.detail) == (
        Cause.PAYMENT_FAILED,
        "evt_f",
        "card_declined",
    )
    assert record_payment_failure(order, provider_event_id="evt_f", at=LATER) is order
    assert record_payment_failure(reserved(), provider_event_id="evt_g", at=at(2)).events[-1].detail == ""


def test_a_bad_payment_failure_is_refused_naming_its_field() -> None:
    for arguments, field in (
        ({"provider_event_id": "evt f"}, "provider_event_id"),
        ({"detail": "x" * (MAX_DETAIL_CHARS + 1)}, "detail"),
    ):
        with pytest.raises(InvalidOrder) as refused:
            record_payment_failure(reserved(), **({"provider_event_id": "evt_f", "at": at(2)} | arguments))
        assert refused.value.field == field


def test_cancelling_and_fulfilling_without_a_detail_record_none() -> None:
    assert cancel(reserved(), at=LATER).events[-1].detail == ""
    assert fulfil(paid(), at=LATER).events[-1].detail == ""


def test_a_refused_step_says_what_the_order_can_become() -> None:
    with pytest.raises(TransitionRefused) as refused:
        fulfil(reserved(), at=LATER)
    assert refused.value.message == (
        "a reserved order cannot become fulfilled by fulfil; it can become cancelled, expired, paid"
    )


def test_a_failure_delivered_after_a_success_changes_nothing_but_is_remembered() -> None:
    order = record_payment_failure(paid(), provider_event_id="evt_f", at=LATER)
    assert order.state is S.PAID
    assert order.events == paid().events
    assert "evt_f" in order.processed_provider_event_ids


def test_events_are_immutable() -> None:
    event = paid().events[-1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.target = S.FULFILLED  # type: ignore[misc]


def test_a_history_that_skips_a_step_does_not_replay() -> None:
    events = list(fulfilled().events)
    del events[1]  # the payment
    with pytest.raises(TransitionRefused) as refused:
        replay(events)
    assert refused.value.field == "events"


def test_a_history_that_goes_back_in_time_does_not_replay() -> None:
    first, second = paid().events[:2]
    with pytest.raises(TransitionRefused) as refused:
        replay([first, dataclasses.replace(second, at=T0 - timedelta(seconds=1))])
    assert refused.value.field == "events"


def test_fulfilment_retires_for_people_and_events_and_transfers_for_enterprises() -> None:
    assert FULFILMENT_ENTRY_KIND[OrderKind.INDIVIDUAL] == "retire"
    assert FULFILMENT_ENTRY_KIND[OrderKind.EVENT] == "retire"
    assert created(OrderKind.ENTERPRISE).fulfilment_entry_kind == "transfer"


def test_every_domain_error_names_its_field() -> None:
    with pytest.raises(OrderError) as refused:
        fulfil(created(), at=LATER)
    assert str(refused.value).startswith("state: ")
    assert isinstance(paid().events[-1], OrderEvent)
