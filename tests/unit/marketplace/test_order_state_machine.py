"""Random sequences of everything that can happen to an order, and the invariants that must survive them.

Hypothesis drives one order through reservations, payments (with provider event ids drawn from a small
pool, so replays and reuse are frequent), failures, a fake clock and the expiry job, late payments with and
without stock, cancellations, refunds and fulfilment. A tiny model predicts, for each step, whether it must
succeed or be refused; the invariants check the order after every step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from marketplace.orders import (
    PAID_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Cause,
    DuplicatePayment,
    InvalidOrder,
    LotHold,
    Order,
    OrderError,
    OrderKind,
    OrderState,
    TransitionRefused,
    cancel,
    expire_if_due,
    fulfil,
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
EVENT_IDS = st.sampled_from([f"evt_{n}" for n in range(6)])
# Steps that end an order early (cancel, fail, refund) or a malformed amount happen one time in four, so
# that orders live long enough to expire, be paid late and be fulfilled.
RARELY = st.integers(0, 3).map(lambda n: n == 0)
ALLOWED_EDGES = {(t.source, t.target) for t in TRANSITIONS}
# Where each state may go, in any number of steps; terminal states go nowhere.
LATER_STATES = {
    S.CREATED: set(S),
    S.RESERVED: set(S) - {S.CREATED},
    S.PAID: {S.PAID, S.FULFILLED, S.REFUNDED},
    S.EXPIRED: {S.EXPIRED, S.RESERVED, S.PAID, S.FULFILLED, S.REFUNDED},
    S.CANCELLED: {S.CANCELLED, S.REFUNDED},
    S.FULFILLED: {S.FULFILLED},
    S.REFUNDED: {S.REFUNDED},
}


def outcome_of(step: Callable[[], Order]) -> Order | OrderError:
    """The order a step returns, or the domain error it raises (any other exception is a bug and escapes)."""
    try:
        return step()
    except OrderError as refused:
        return refused


class OrderLife(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.order: Order = place_order("ORD-1", OrderKind.INDIVIDUAL, 3_000, 13_500, at=T0)
        self.history: list[Order] = [self.order]

    @initialize(
        kind=st.sampled_from(list(OrderKind)),
        quantity_kg=st.integers(1, 10**6),
        price=st.integers(1, 10**9),
        lots=st.integers(0, 3),
    )
    def place(self, kind: OrderKind, quantity_kg: int, price: int, lots: int) -> None:
        """A placed order, usually reserved at once (as the checkout does), else left created."""
        self.order = place_order("ORD-1", kind, quantity_kg, price, at=T0)
        self.history = [self.order]
        if lots:
            self.buyer_reserves(lots)

    def accept(self, changed: Order) -> None:
        self.order = changed
        self.history.append(changed)

    # Things that happen.

    @rule(seconds=st.sampled_from([0, 1, 60, TTL_S - 1, TTL_S, 2 * TTL_S]) | st.integers(0, 2 * TTL_S))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(after_the_expiry_time=st.booleans())
    def expiry_job_runs(self, after_the_expiry_time: bool) -> None:
        """The scheduled job, sometimes with the clock first moved to the reservation's expiry time."""
        if after_the_expiry_time and self.order.state is S.RESERVED and self.order.reservation is not None:
            self.now = max(self.now, self.order.reservation.expires_at)
        before = self.order
        after = expire_if_due(before, self.now)
        due = (
            before.state is S.RESERVED
            and before.reservation is not None
            and self.now >= before.reservation.expires_at
        )
        assert (after.state is S.EXPIRED) if due else (after is before)
        self.accept(after)

    @rule(lots=st.integers(1, 3))
    def buyer_reserves(self, lots: int) -> None:
        quantity = self.order.quantity_kg
        parts = [quantity // lots] * (lots - 1)
        holds = [LotHold(f"LOT-{n}", kg) for n, kg in enumerate([*parts, quantity - sum(parts)]) if kg > 0]
        self.attempt(
            lambda: reserve(self.order, holds, at=self.now, ttl_s=TTL_S),
            allowed=self.order.state is S.CREATED,
        )

    @rule(event_id=EVENT_IDS, stock_available=st.booleans(), wrong_amount=RARELY)
    def payment_succeeds(self, event_id: str, stock_available: bool, wrong_amount: bool) -> None:
        before = self.order
        amount = before.price_fen + (1 if wrong_amount else 0)
        outcome = outcome_of(
            lambda: record_payment(
                before,
                provider_event_id=event_id,
                amount_fen=amount,
                at=self.now,
                stock_available=stock_available,
            )
        )
        if isinstance(outcome, DuplicatePayment):
            assert outcome.field == "provider_event_id"
            assert before.state in {S.PAID, S.FULFILLED, S.REFUNDED}
            assert event_id not in before.processed_provider_event_ids
            return
        if isinstance(outcome, InvalidOrder):
            assert outcome.field == "amount_fen"
            assert wrong_amount
            return
        if isinstance(outcome, TransitionRefused):
            assert outcome.field == "state"
            assert before.state is S.CREATED
            return
        assert isinstance(outcome, Order), outcome
        after = outcome
        if event_id in before.processed_provider_event_ids:
            assert after is before, "a replayed provider event must change nothing"
        else:
            assert not wrong_amount
            expected = {
                S.RESERVED: S.PAID,
                S.EXPIRED: S.PAID if stock_available else S.REFUNDED,
                S.CANCELLED: S.REFUNDED,
            }[before.state]
            assert after.state is expected
            assert after.paid_fen == before.paid_fen + before.price_fen
            assert event_id in after.processed_provider_event_ids
        self.accept(after)

    @rule(event_id=EVENT_IDS, happens=RARELY)
    def payment_fails(self, event_id: str, happens: bool) -> None:
        if not happens:
            return
        before = self.order
        after = record_payment_failure(before, provider_event_id=event_id, at=self.now)
        if event_id in before.processed_provider_event_ids:
            assert after is before
        elif before.state is S.RESERVED:
            assert after.state is S.CANCELLED
        else:
            assert (after.state, after.events) == (before.state, before.events)
        self.accept(after)

    @rule(happens=RARELY)
    def buyer_cancels(self, happens: bool) -> None:
        if not happens:
            return
        self.attempt(
            lambda: cancel(self.order, at=self.now, detail="不需要了"),
            allowed=self.order.state in {S.CREATED, S.RESERVED},
        )

    @rule(happens=RARELY)
    def registry_refunds(self, happens: bool) -> None:
        if not happens:
            return
        self.attempt(
            lambda: refund(self.order, at=self.now, detail="buyer asked"), allowed=self.order.state is S.PAID
        )

    @rule()
    def fulfilment_runs(self) -> None:
        self.attempt(lambda: fulfil(self.order, at=self.now), allowed=self.order.state is S.PAID)

    def attempt(self, step: Callable[[], Order], *, allowed: bool) -> None:
        before = self.order
        after = outcome_of(step)
        if isinstance(after, OrderError):
            assert not allowed, f"refused although allowed: {after}"
            assert isinstance(after, TransitionRefused)
            assert after.field == "state"
            return
        assert allowed, f"a {before.state.value} order was allowed to become {after.state.value}"
        assert (before.state, after.state) in ALLOWED_EDGES
        self.accept(after)

    # What must always hold.

    @invariant()
    def the_state_is_an_allowed_one(self) -> None:
        assert isinstance(self.order.state, OrderState)
        assert self.order.state in set(S)

    @invariant()
    def the_history_replays_to_the_state(self) -> None:
        assert replay(self.order.events) is self.order.state

    @invariant()
    def history_is_only_ever_appended_to(self) -> None:
        for earlier, later in zip(self.history, self.history[1:], strict=False):
            assert later.events[: len(earlier.events)] == earlier.events
            assert earlier.processed_provider_event_ids <= later.processed_provider_event_ids
            assert all(a.at <= b.at for a, b in zip(later.events, later.events[1:], strict=False))

    @invariant()
    def no_order_is_fulfilled_twice(self) -> None:
        assert sum(event.cause is Cause.FULFIL for event in self.order.events) <= 1
        assert sum(event.target is S.FULFILLED for event in self.order.events) <= 1

    @invariant()
    def money_is_never_lost(self) -> None:
        order = self.order
        assert order.paid_fen in {0, order.price_fen}
        assert order.refunded_fen in {0, order.paid_fen}
        assert order.kept_fen == (order.price_fen if order.state in PAID_STATES else 0)
        if order.paid_fen:
            assert order.state in {S.PAID, S.FULFILLED, S.REFUNDED}
        if order.state is S.REFUNDED:
            assert order.paid_fen == order.refunded_fen == order.price_fen

    @invariant()
    def terminal_states_stay_terminal_and_no_state_goes_back(self) -> None:
        for earlier, later in zip(self.history, self.history[1:], strict=False):
            if earlier.state in TERMINAL_STATES:
                assert later.state is earlier.state
                assert later.events == earlier.events
            assert later.state in LATER_STATES[earlier.state]

    @invariant()
    def a_held_reservation_covers_the_order(self) -> None:
        if self.order.holds_stock:
            assert self.order.reservation is not None
            assert self.order.reservation.quantity_kg == self.order.quantity_kg


OrderLife.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestOrderLife = OrderLife.TestCase
