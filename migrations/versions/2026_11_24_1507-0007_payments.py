"""Payments at the providers: Stripe payment intents and processed webhook events.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 15:07:00

Three tables (marketplace/payments/models.py): the attempts started at a provider for an order, the
refunds owed at a provider (an outbox delivered after the commit that made them owed) and the provider
events processed, unique on the provider's event id. The events are facts: append-only triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations import triggers

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APPEND_ONLY = {"payment_webhook_events": ("id",)}
"""A processed provider event is a fact: inserted, never changed (CONVENTIONS.md §4)."""


def upgrade() -> None:
    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('invoice', 'stripe')", name=op.f("ck_payment_attempts_provider_known")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'succeeded', 'failed', 'canceled')",
            name=op.f("ck_payment_attempts_status_known"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payment_attempts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payment_attempts_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint("order_id", "position", name=op.f("uq_payment_attempts_order_id_position")),
        sa.UniqueConstraint(
            "provider", "provider_payment_id", name=op.f("uq_payment_attempts_provider_provider_payment_id")
        ),
    )
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_attempts_order_id"), ["order_id"], unique=False)

    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=300), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=255), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(status = 'pending' AND delivered_at IS NULL) OR (status <> 'pending' AND delivered_at IS NOT NULL)",
            name=op.f("ck_payment_refunds_delivery_complete"),
        ),
        sa.CheckConstraint(
            "provider IN ('invoice', 'stripe')", name=op.f("ck_payment_refunds_provider_known")
        ),
        sa.CheckConstraint(
            "reason IN ('requested', 'late_payment', 'duplicate_payment', 'unmatched_payment')",
            name=op.f("ck_payment_refunds_reason_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'manual', 'failed')",
            name=op.f("ck_payment_refunds_status_known"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payment_refunds_amount_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_payment_refunds_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint(
            "provider", "provider_payment_id", name=op.f("uq_payment_refunds_provider_provider_payment_id")
        ),
        sa.UniqueConstraint("request_id", name=op.f("uq_payment_refunds_request_id")),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_refunds_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_refunds_status"), ["status"], unique=False)

    op.create_table(
        "payment_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "provider IN ('invoice', 'stripe')", name=op.f("ck_payment_webhook_events_provider_known")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payment_webhook_events_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_webhook_events")),
        sa.UniqueConstraint(
            "provider",
            "provider_event_id",
            name=op.f("uq_payment_webhook_events_provider_provider_event_id"),
        ),
    )
    with op.batch_alter_table("payment_webhook_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_webhook_events_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payment_webhook_events_provider_payment_id"), ["provider_payment_id"], unique=False
        )
    for statement in triggers.append_only(op.get_bind().dialect.name, APPEND_ONLY):
        op.execute(statement)


def downgrade() -> None:
    for statement in triggers.drop_append_only(op.get_bind().dialect.name, APPEND_ONLY):
        op.execute(statement)
    with op.batch_alter_table("payment_webhook_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_webhook_events_provider_payment_id"))
        batch_op.drop_index(batch_op.f("ix_payment_webhook_events_order_id"))
    op.drop_table("payment_webhook_events")
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_refunds_status"))
        batch_op.drop_index(batch_op.f("ix_payment_refunds_order_id"))
    op.drop_table("payment_refunds")
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_attempts_order_id"))
    op.drop_table("payment_attempts")
