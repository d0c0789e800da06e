"""Orders placed by a signed-in individual remember the user, for the individual's own order history.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_orders_user_id_users"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # ADD COLUMN with its REFERENCES clause: no copy of ``orders``, which order events and
        # certificates refer to (as 0008 adds quote_id and event_id).
        op.execute(
            f"ALTER TABLE orders ADD COLUMN user_id INTEGER CONSTRAINT {FOREIGN_KEY} REFERENCES users (id)"
        )
    else:
        op.add_column("orders", sa.Column("user_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FOREIGN_KEY, "orders", "users", ["user_id"], ["id"])
    op.create_index(op.f("ix_orders_user_id"), "orders", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_user_id"), table_name="orders")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite refuses DROP COLUMN on a column with a foreign key, so the table is copied, which
        # works on a database whose orders nothing refers to yet (as 0008's downgrade).
        with op.batch_alter_table("orders", schema=None, recreate="always") as batch_op:
            batch_op.drop_column("user_id")
        return
    op.drop_constraint(FOREIGN_KEY, "orders", type_="foreignkey")
    op.drop_column("orders", "user_id")
