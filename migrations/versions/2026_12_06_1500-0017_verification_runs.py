"""The outcome of every scheduled full verification, shown on the ledger page and by the health check.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_verification_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("failed_seq", sa.BigInteger(), nullable=True),
        sa.Column("failure", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint("tree_size >= 0", name=op.f("ck_ledger_verification_runs_tree_size")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_verification_runs")),
    )
    with op.batch_alter_table("ledger_verification_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_verification_runs_finished_at"), ["finished_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("ledger_verification_runs")
