"""Sales per lot and county, and the farmer-share payouts the registry records.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 15:09:00

Sales are computed from orders and reservations (marketplace.sales); the only new table is
``farmer_payouts``, whose rows are facts: append-only, corrected by new rows (a negative amount naming the
payout it corrects), never updated or deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations import triggers

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

APPEND_ONLY = {"farmer_payouts": ("id",)}
"""Payouts are facts: inserted, never changed (CONVENTIONS.md §4)."""


def upgrade() -> None:
    op.create_table(
        "farmer_payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipient_kind", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=300), nullable=False),
        sa.Column("corrects_payout_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(corrects_payout_id IS NULL AND amount_fen > 0)"
            " OR (corrects_payout_id IS NOT NULL AND amount_fen < 0)",
            name=op.f("ck_farmer_payouts_amount_sign"),
        ),
        sa.CheckConstraint(
            "recipient_kind IN ('household', 'collective')",
            name=op.f("ck_farmer_payouts_recipient_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["corrects_payout_id"],
            ["farmer_payouts.id"],
            name=op.f("fk_farmer_payouts_corrects_payout_id_farmer_payouts"),
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_farmer_payouts_lot_id_lots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_farmer_payouts")),
        sa.UniqueConstraint("request_id", name=op.f("uq_farmer_payouts_request_id")),
    )
    with op.batch_alter_table("farmer_payouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_farmer_payouts_corrects_payout_id"), ["corrects_payout_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_farmer_payouts_lot_id"), ["lot_id"], unique=False)
    for statement in triggers.append_only(op.get_bind().dialect.name, APPEND_ONLY):
        op.execute(statement)


def downgrade() -> None:
    for statement in triggers.drop_append_only(op.get_bind().dialect.name, APPEND_ONLY):
        op.execute(statement)
    with op.batch_alter_table("farmer_payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_farmer_payouts_lot_id"))
        batch_op.drop_index(batch_op.f("ix_farmer_payouts_corrects_payout_id"))
    op.drop_table("farmer_payouts")
