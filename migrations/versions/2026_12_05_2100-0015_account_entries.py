"""Which ledger entries name which account: the read model behind account statements.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_account_entries",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_account_entries_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["seq"], ["ledger_entries.seq"], name=op.f("fk_ledger_account_entries_seq_ledger_entries")
        ),
        sa.PrimaryKeyConstraint("account_id", "seq", name=op.f("pk_ledger_account_entries")),
    )


def downgrade() -> None:
    op.drop_table("ledger_account_entries")
