"""Witnesses the registry lists in its database (``tanhui witnesses add``), beside TANHUI_WITNESS_KEYS.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_witnesses",
        sa.Column("vkey", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("vkey", name=op.f("pk_ledger_witnesses")),
    )


def downgrade() -> None:
    op.drop_table("ledger_witnesses")
