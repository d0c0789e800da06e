"""Reversal status of batches and lots, and ex-ante pre-order listings.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 15:10:00

Buffer compensations (with the batches they affect), the lots' status history, pre-order listings,
pre-orders, their conversion and outcomes (marketplace/reversal_models.py). All of them are records of
facts: append-only, like the ledger's entries (CONVENTIONS.md §4).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations import triggers

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APPEND_ONLY = {
    "buffer_compensations": ("id",),
    "buffer_compensation_batches": ("id",),
    "lot_status_changes": ("id",),
    "preorder_listings": ("id",),
    "preorders": ("id",),
    "preorder_conversions": ("id",),
    "preorder_outcomes": ("id",),
}
"""Compensations, status changes and pre-orders are facts: inserted, never changed."""


def upgrade() -> None:
    op.create_table(
        "preorder_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("vintage", sa.String(length=4), nullable=False),
        sa.Column("cap_kg", sa.BigInteger(), nullable=False),
        sa.Column("price_fen_per_t", sa.BigInteger(), nullable=False),
        sa.Column("expected_issuance_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("cap_kg > 0", name=op.f("ck_preorder_listings_cap_positive")),
        sa.CheckConstraint("price_fen_per_t > 0", name=op.f("ck_preorder_listings_price_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_preorder_listings_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preorder_listings")),
    )
    with op.batch_alter_table("preorder_listings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_preorder_listings_project_id"), ["project_id"], unique=False)
    op.create_table(
        "buffer_compensations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("cancel_seq", sa.BigInteger(), nullable=False),
        sa.Column("compensated_kg", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("compensated_kg > 0", name=op.f("ck_buffer_compensations_compensated_positive")),
        sa.ForeignKeyConstraint(
            ["cancel_seq"],
            ["ledger_entries.seq"],
            name=op.f("fk_buffer_compensations_cancel_seq_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_buffer_compensations_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["monitoring_reports.id"],
            name=op.f("fk_buffer_compensations_report_id_monitoring_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buffer_compensations")),
        sa.UniqueConstraint("cancel_seq", name=op.f("uq_buffer_compensations_cancel_seq")),
        sa.UniqueConstraint("report_id", name=op.f("uq_buffer_compensations_report_id")),
    )
    with op.batch_alter_table("buffer_compensations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_buffer_compensations_project_id"), ["project_id"], unique=False)
    op.create_table(
        "preorder_conversions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("converted_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["preorder_listings.id"],
            name=op.f("fk_preorder_conversions_listing_id_preorder_listings"),
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_preorder_conversions_lot_id_lots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preorder_conversions")),
        sa.UniqueConstraint("listing_id", name=op.f("uq_preorder_conversions_listing_id")),
    )
    op.create_table(
        "preorders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("buyer_organisation_id", sa.Integer(), nullable=True),
        sa.Column("buyer_display_name", sa.String(length=200), nullable=False),
        sa.Column("beneficiary_name", sa.String(length=200), nullable=False),
        sa.Column("beneficiary_public", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("quantity_kg", sa.BigInteger(), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anonymous_idempotency_key", sa.String(length=255), nullable=True),
        sa.CheckConstraint(
            "(kind = 'individual' AND buyer_organisation_id IS NULL) OR (kind <> 'individual' AND buyer_organisation_id IS NOT NULL)",
            name=op.f("ck_preorders_buyer_known"),
        ),
        sa.CheckConstraint(
            "kind IN ('enterprise', 'event', 'individual')", name=op.f("ck_preorders_kind_known")
        ),
        sa.CheckConstraint("price_fen > 0", name=op.f("ck_preorders_price_positive")),
        sa.CheckConstraint("quantity_kg > 0", name=op.f("ck_preorders_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["buyer_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_preorders_buyer_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["preorder_listings.id"], name=op.f("fk_preorders_listing_id_preorder_listings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preorders")),
        sa.UniqueConstraint("anonymous_idempotency_key", name=op.f("uq_preorders_anonymous_idempotency_key")),
        sa.UniqueConstraint("listing_id", "position", name=op.f("uq_preorders_listing_id_position")),
    )
    with op.batch_alter_table("preorders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_preorders_buyer_organisation_id"), ["buyer_organisation_id"], unique=False
        )
    op.create_table(
        "buffer_compensation_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compensation_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["ledger_batches.id"],
            name=op.f("fk_buffer_compensation_batches_batch_id_ledger_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["compensation_id"],
            ["buffer_compensations.id"],
            name=op.f("fk_buffer_compensation_batches_compensation_id_buffer_compensations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buffer_compensation_batches")),
        sa.UniqueConstraint(
            "compensation_id",
            "batch_id",
            name=op.f("uq_buffer_compensation_batches_compensation_id_batch_id"),
        ),
    )
    with op.batch_alter_table("buffer_compensation_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_buffer_compensation_batches_batch_id"), ["batch_id"], unique=False
        )
    op.create_table(
        "lot_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("compensation_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "from_status IN ('listed', 'suspended') AND to_status IN ('listed', 'suspended') AND from_status <> to_status",
            name=op.f("ck_lot_status_changes_statuses_known"),
        ),
        sa.ForeignKeyConstraint(
            ["compensation_id"],
            ["buffer_compensations.id"],
            name=op.f("fk_lot_status_changes_compensation_id_buffer_compensations"),
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_lot_status_changes_lot_id_lots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_status_changes")),
        sa.UniqueConstraint("lot_id", "position", name=op.f("uq_lot_status_changes_lot_id_position")),
    )
    op.create_table(
        "preorder_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("preorder_id", sa.String(length=64), nullable=False),
        sa.Column("conversion_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(outcome = 'converted' AND order_id IS NOT NULL) OR (outcome = 'cancelled' AND order_id IS NULL)",
            name=op.f("ck_preorder_outcomes_outcome_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["conversion_id"],
            ["preorder_conversions.id"],
            name=op.f("fk_preorder_outcomes_conversion_id_preorder_conversions"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_preorder_outcomes_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["preorder_id"], ["preorders.id"], name=op.f("fk_preorder_outcomes_preorder_id_preorders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preorder_outcomes")),
        sa.UniqueConstraint("order_id", name=op.f("uq_preorder_outcomes_order_id")),
        sa.UniqueConstraint("preorder_id", name=op.f("uq_preorder_outcomes_preorder_id")),
    )
    with op.batch_alter_table("preorder_outcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_preorder_outcomes_conversion_id"), ["conversion_id"], unique=False
        )
    # ### end Alembic commands ###

    for statement in triggers.append_only(op.get_bind().dialect.name, APPEND_ONLY):
        op.execute(statement)


def downgrade() -> None:
    for statement in triggers.drop_append_only(op.get_bind().dialect.name, APPEND_ONLY):
        op.execute(statement)
    with op.batch_alter_table("preorder_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_preorder_outcomes_conversion_id"))
    op.drop_table("preorder_outcomes")
    op.drop_table("lot_status_changes")
    with op.batch_alter_table("buffer_compensation_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buffer_compensation_batches_batch_id"))
    op.drop_table("buffer_compensation_batches")
    with op.batch_alter_table("preorders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_preorders_buyer_organisation_id"))
    op.drop_table("preorders")
    op.drop_table("preorder_conversions")
    with op.batch_alter_table("buffer_compensations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buffer_compensations_project_id"))
    op.drop_table("buffer_compensations")
    with op.batch_alter_table("preorder_listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_preorder_listings_project_id"))
    op.drop_table("preorder_listings")
