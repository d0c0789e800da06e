"""Witnesses the registry pushes its checkpoints to (c2sp.org/tlog-witness), and how the last push went.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_witnesses") as table:
        table.add_column(sa.Column("url", sa.String(length=500), nullable=True))
        table.add_column(sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("pushed_size", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("push_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_witnesses") as table:
        table.drop_column("push_error")
        table.drop_column("pushed_size")
        table.drop_column("pushed_at")
        table.drop_column("url")
