"""The payments' tables: attempts at a provider, refunds to deliver there, and the webhook events processed.

A :class:`PaymentAttempt` is one payment started at a provider for one order (a Stripe PaymentIntent, or
an invoice's transfer instructions). Its ``status`` is the provider's latest word on it as far as the
registry has heard (``open`` until a webhook says ``succeeded``, ``failed`` or ``canceled``) — a cache, like
``orders.state``; the order's events remain the record of the money.

A :class:`PaymentRefund` is a refund the registry owes at a provider: written in the same unit of work as
the order's change that made it owed (a late or duplicate payment, a refund on request), and delivered to
the provider only after that commit (the outbox pattern of CONVENTIONS.md §2), with its ``request_id`` as
the provider's idempotency key, so that a delivery repeated after a crash refunds once. ``status``,
``provider_refund_id``, ``delivered_at`` and ``last_error`` record the delivery; nothing else changes.

A :class:`WebhookEvent` is one provider event processed (or deliberately ignored), unique on the
provider's event id: a replay finds it and changes nothing. These rows are facts, inserted and never
changed (append-only triggers, migration 0007).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.orm import Base

PROVIDERS = ("invoice", "stripe")
ATTEMPT_STATUSES = ("open", "succeeded", "failed", "canceled")
REFUND_STATUSES = ("pending", "succeeded", "manual", "failed")
"""``manual``: the offline provider's refund, which the registry pays back by bank transfer."""
REFUND_REASONS = ("requested", "late_payment", "duplicate_payment", "unmatched_payment")


class PaymentAttempt(Base):
    __tablename__ = "payment_attempts"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("provider IN ('invoice', 'stripe')", name="provider_known"),
        CheckConstraint("status IN ('open', 'succeeded', 'failed', 'canceled')", name="status_known"),
        UniqueConstraint("provider", "provider_payment_id"),
        UniqueConstraint("order_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), ForeignKey("orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    """1 for the order's first attempt, 2 for the next: part of the provider's idempotency key."""
    provider: Mapped[str] = mapped_column(String(16))
    provider_payment_id: Mapped[str] = mapped_column(String(255))
    """The PaymentIntent id (``pi_…``), or ``invoice:<order id>`` for the offline provider."""
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PaymentRefund(Base):
    __tablename__ = "payment_refunds"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("provider IN ('invoice', 'stripe')", name="provider_known"),
        CheckConstraint("status IN ('pending', 'succeeded', 'manual', 'failed')", name="status_known"),
        CheckConstraint(
            "reason IN ('requested', 'late_payment', 'duplicate_payment', 'unmatched_payment')",
            name="reason_known",
        ),
        CheckConstraint(
            "(status = 'pending' AND delivered_at IS NULL)"
            " OR (status <> 'pending' AND delivered_at IS NOT NULL)",
            name="delivery_complete",
        ),
        UniqueConstraint("provider", "provider_payment_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(300), unique=True)
    """The idempotency key sent to the provider: ``refund:<provider>:<payment id>`` (one per payment)."""
    order_id: Mapped[str] = mapped_column(String(64), ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_payment_id: Mapped[str] = mapped_column(String(255))
    """The payment refunded in full: a payment is refunded at most once (the unique constraint)."""
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), index=True)
    provider_refund_id: Mapped[str | None] = mapped_column(String(255))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookEvent(Base):
    __tablename__ = "payment_webhook_events"
    __table_args__ = (
        CheckConstraint("provider IN ('invoice', 'stripe')", name="provider_known"),
        UniqueConstraint("provider", "provider_event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64))
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), index=True)
    order_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("orders.id"), index=True)
    """The order it concerned, when the registry knows the payment; ``None`` for an ignored event."""
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(Text)
    """What processing did, in words (``paid; fulfilled by ledger entry 7``, ``ignored: …``)."""
