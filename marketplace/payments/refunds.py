"""Delivering the refunds owed at the providers, after the commit that made them owed (the outbox's drain).

:func:`marketplace.payments.settlement.owe_refund` writes a ``pending`` :class:`PaymentRefund` in the unit
of work that changed the order. :func:`deliver_refunds` runs after that commit — right away in the same
request, and again from a scheduled job for whatever a crash or an unreachable provider left pending — and
calls the provider with the row's ``request_id`` as the idempotency key, so that two deliveries of one row
(a retry, two workers) refund once. A provider that refuses outright (not a network or rate-limit error)
marks the row ``failed`` after :data:`MAX_DELIVERY_ATTEMPTS`, for the registry to settle by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from ledger.database import Database
from marketplace.payments.models import PaymentRefund
from marketplace.payments.provider import PaymentProvider, PaymentProviderError

MAX_DELIVERY_ATTEMPTS = 5
MAX_REFUNDS_PER_RUN = 100
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveredRefund:
    refund_id: int
    request_id: str
    status: str
    provider_refund_id: str | None
    amount_fen: int
    reason: str
    last_error: str | None


def deliver_refunds(
    database: Database,
    providers: Mapping[str, PaymentProvider],
    *,
    refund_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[DeliveredRefund]:
    """Deliver the given pending refunds (or all pending ones, oldest first); returns each one's state.

    Each refund is one provider call between two short units of work; no database lock is held while the
    provider is called. A refund whose provider is not configured here stays pending.
    """
    with database.reading() as session:
        query = select(PaymentRefund.id).where(PaymentRefund.status == "pending")
        if refund_ids is not None:
            query = query.where(PaymentRefund.id.in_(list(refund_ids)))
        pending = list(session.scalars(query.order_by(PaymentRefund.id).limit(MAX_REFUNDS_PER_RUN)))
    for refund_id in pending:
        _deliver_one(database, providers, refund_id, now=now)
    if refund_ids is None:
        return []
    with database.reading() as session:
        rows = session.scalars(
            select(PaymentRefund).where(PaymentRefund.id.in_(list(refund_ids))).order_by(PaymentRefund.id)
        )
        return [_snapshot(row) for row in rows]


def _deliver_one(
    database: Database, providers: Mapping[str, PaymentProvider], refund_id: int, *, now: datetime | None
) -> None:
    with database.reading() as session:
        refund = session.get(PaymentRefund, refund_id)
        assert refund is not None
        snapshot = _snapshot(refund)
        provider_name, payment_id, order_id = refund.provider, refund.provider_payment_id, refund.order_id
    provider = providers.get(provider_name)
    if provider is None or snapshot.status != "pending":
        return
    try:
        result = provider.refund(
            payment_id, snapshot.amount_fen, idempotency_key=snapshot.request_id, order_id=order_id
        )
    except PaymentProviderError as error:
        log.warning("refund %s not delivered: %s", snapshot.request_id, error.message)
        with database.unit_of_work() as uow:
            row = uow.session.get(PaymentRefund, refund_id)
            assert row is not None
            if row.status == "pending":
                row.delivery_attempts += 1
                row.last_error = error.message[:1000]
                if not error.retryable and row.delivery_attempts >= MAX_DELIVERY_ATTEMPTS:
                    row.status, row.delivered_at = "failed", now or datetime.now(UTC)
            uow.commit()
        return
    with database.unit_of_work() as uow:
        row = uow.session.get(PaymentRefund, refund_id)
        assert row is not None
        if row.status == "pending":
            row.status = "manual" if result.status == "manual" else "succeeded"
            row.provider_refund_id = result.provider_refund_id
            row.delivered_at = now or datetime.now(UTC)
            row.delivery_attempts += 1
            row.last_error = None
        uow.commit()


def _snapshot(row: PaymentRefund) -> DeliveredRefund:
    return DeliveredRefund(
        refund_id=row.id,
        request_id=row.request_id,
        status=row.status,
        provider_refund_id=row.provider_refund_id,
        amount_fen=row.amount_fen,
        reason=row.reason,
        last_error=row.last_error,
    )
