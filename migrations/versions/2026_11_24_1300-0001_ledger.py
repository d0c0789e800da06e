"""The issuance ledger: entries, head, batches, holdings, checkpoints and keys, append-only by trigger.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 12:48:55.525186
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations import triggers

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "type IN ('registry', 'buffer', 'retail', 'owner', 'enterprise', 'organiser', 'individual')",
            name=op.f("ck_ledger_accounts_type_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_ledger_checkpoints_size")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoints")),
    )
    with op.batch_alter_table("ledger_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_checkpoints_size"), ["size"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("subtree_hashes", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('issue', 'transfer', 'retire', 'cancel')", name=op.f("ck_ledger_entries_kind_known")
        ),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_ledger_entries_seq_non_negative")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("request_id", name=op.f("uq_ledger_entries_request_id")),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("last_leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("last_time", sa.String(length=32), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_head_single_row")),
        sa.CheckConstraint("size >= 0", name=op.f("ck_ledger_head_size")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_head")),
    )
    op.create_table(
        "ledger_verifier_keys",
        sa.Column("vkey", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vkey", name=op.f("pk_ledger_verifier_keys")),
    )
    op.create_table(
        "ledger_batches",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("project", sa.String(length=16), nullable=False),
        sa.Column("vintage", sa.String(length=4), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("quantity_kg", sa.BigInteger(), nullable=False),
        sa.Column("issue_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity_kg > 0", name=op.f("ck_ledger_batches_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["issue_seq"], ["ledger_entries.seq"], name=op.f("fk_ledger_batches_issue_seq_ledger_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_batches")),
        sa.UniqueConstraint("issue_seq", name=op.f("uq_ledger_batches_issue_seq")),
    )
    with op.batch_alter_table("ledger_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_batches_project"), ["project"], unique=False)

    op.create_table(
        "ledger_beneficiary_secrets",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["ledger_entries.seq"], name=op.f("fk_ledger_beneficiary_secrets_seq_ledger_entries")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_beneficiary_secrets")),
    )
    op.create_table(
        "ledger_closed_ranges",
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("start_kg", sa.BigInteger(), nullable=False),
        sa.Column("end_kg", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entry_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('retired', 'cancelled')", name=op.f("ck_ledger_closed_ranges_status_known")
        ),
        sa.CheckConstraint(
            "start_kg >= 1 AND end_kg >= start_kg", name=op.f("ck_ledger_closed_ranges_range_valid")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_closed_ranges_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["ledger_batches.id"], name=op.f("fk_ledger_closed_ranges_batch_id_ledger_batches")
        ),
        sa.ForeignKeyConstraint(
            ["entry_seq"],
            ["ledger_entries.seq"],
            name=op.f("fk_ledger_closed_ranges_entry_seq_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("batch_id", "start_kg", name=op.f("pk_ledger_closed_ranges")),
    )
    with op.batch_alter_table("ledger_closed_ranges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_closed_ranges_entry_seq"), ["entry_seq"], unique=False)

    op.create_table(
        "ledger_holdings",
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("start_kg", sa.BigInteger(), nullable=False),
        sa.Column("end_kg", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "start_kg >= 1 AND end_kg >= start_kg", name=op.f("ck_ledger_holdings_range_valid")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_holdings_account_id_ledger_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["ledger_batches.id"], name=op.f("fk_ledger_holdings_batch_id_ledger_batches")
        ),
        sa.PrimaryKeyConstraint("batch_id", "start_kg", name=op.f("pk_ledger_holdings")),
    )
    with op.batch_alter_table("ledger_holdings", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_holdings_account_batch", ["account_id", "batch_id"], unique=False)

    op.execute(
        sa.text(
            "INSERT INTO ledger_head (id, size, last_leaf_hash, last_time) VALUES (1, 0, :zero, '')"
        ).bindparams(sa.bindparam("zero", b"\0" * 32, type_=sa.LargeBinary))
    )
    dialect = op.get_bind().dialect.name
    for statement in triggers.create_refuse_function(dialect) + triggers.append_only(dialect, APPEND_ONLY):
        op.execute(statement)


APPEND_ONLY = {
    "ledger_entries": ("seq",),
    "ledger_checkpoints": ("id",),
    "ledger_batches": ("id",),
    "ledger_closed_ranges": ("batch_id", "start_kg"),
    "ledger_verifier_keys": ("vkey",),
}


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in triggers.drop_append_only(dialect, APPEND_ONLY) + triggers.drop_refuse_function(dialect):
        op.execute(statement)
    with op.batch_alter_table("ledger_holdings", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_holdings_account_batch")

    op.drop_table("ledger_holdings")
    with op.batch_alter_table("ledger_closed_ranges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_closed_ranges_entry_seq"))

    op.drop_table("ledger_closed_ranges")
    op.drop_table("ledger_beneficiary_secrets")
    with op.batch_alter_table("ledger_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_batches_project"))

    op.drop_table("ledger_batches")
    op.drop_table("ledger_verifier_keys")
    op.drop_table("ledger_head")
    op.drop_table("ledger_entries")
    with op.batch_alter_table("ledger_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_checkpoints_size"))

    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_accounts")
