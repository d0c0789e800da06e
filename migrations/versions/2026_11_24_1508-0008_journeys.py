"""Buyer journeys: events, quotes, gifts, and certificates for retirements outside orders.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 15:08:00

Adding columns to ``orders`` uses SQLite's own ``ALTER TABLE … ADD COLUMN`` with the foreign key inline,
not a batch copy: ``orders`` is referenced by ``order_events`` and ``certificates``, and dropping a
referenced table while ``PRAGMA foreign_keys`` is on would fail once it holds rows. ``certificates`` is
referenced by nothing, so its nullable ``order_id`` is a batch copy, with its append-only triggers dropped
before and made again after (SQLite drops a table's triggers with the table).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations import triggers

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APPEND_ONLY = {"quotes": ("id",), "quote_lines": ("id",), "carbon_neutral_events": ("id",)}
"""Quotes, their lines and events are facts: inserted, never changed (CONVENTIONS.md §4)."""
CERTIFICATES = {"certificates": ("id",)}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("quantity_kg", sa.BigInteger(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("sourcing", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity_kg > 0", name=op.f("ck_quotes_quantity_positive")),
        sa.CheckConstraint("total_fen > 0", name=op.f("ck_quotes_total_positive")),
        sa.CheckConstraint("valid_until > created_at", name=op.f("ck_quotes_validity_after_creation")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_quotes_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotes_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "quote_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.String(length=64), nullable=False),
        sa.Column("quantity_kg", sa.BigInteger(), nullable=False),
        sa.Column("price_fen_per_t", sa.BigInteger(), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "price_fen_per_t > 0 AND price_fen > 0", name=op.f("ck_quote_lines_price_positive")
        ),
        sa.CheckConstraint("quantity_kg > 0", name=op.f("ck_quote_lines_quantity_positive")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_quote_lines_lot_id_lots")),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_quote_lines_quote_id_quotes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_lines")),
        sa.UniqueConstraint("quote_id", "lot_id", name=op.f("uq_quote_lines_quote_id_lot_id")),
        sa.UniqueConstraint("quote_id", "position", name=op.f("uq_quote_lines_quote_id_position")),
    )

    op.create_table(
        "carbon_neutral_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=True),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("calculator_input", sa.Text(), nullable=False),
        sa.Column("factor_set_version", sa.Integer(), nullable=False),
        sa.Column("footprint_total_kg", sa.String(length=40), nullable=False),
        sa.Column("footprint_kg", sa.BigInteger(), nullable=False),
        sa.Column("breakdown", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attendees > 0", name=op.f("ck_carbon_neutral_events_attendees_positive")),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_carbon_neutral_events_dates_in_order")),
        sa.CheckConstraint("footprint_kg > 0", name=op.f("ck_carbon_neutral_events_footprint_positive")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_carbon_neutral_events_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_neutral_events")),
    )
    with op.batch_alter_table("carbon_neutral_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_neutral_events_organisation_id"), ["organisation_id"], unique=False
        )

    _add_order_columns(dialect)
    op.create_index(op.f("ix_orders_quote_id"), "orders", ["quote_id"], unique=True)
    op.create_index(op.f("ix_orders_event_id"), "orders", ["event_id"], unique=False)

    for statement in triggers.drop_append_only(dialect, CERTIFICATES):
        op.execute(statement)
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.alter_column("order_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_certificates_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_certificates_origin_known"),
            "order_id IS NOT NULL OR organisation_id IS NOT NULL",
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_organisation_id"), ["organisation_id"], unique=False
        )
    for statement in triggers.append_only(dialect, CERTIFICATES | APPEND_ONLY):
        op.execute(statement)


def _add_order_columns(dialect: str) -> None:
    """``quote_id``, ``event_id`` and ``gift_message`` on ``orders``, without copying the table."""
    references = {
        "quote_id": ("quotes", sa.String(length=64)),
        "event_id": ("carbon_neutral_events", sa.Integer()),
    }
    for column, (table, column_type) in references.items():
        name = f"fk_orders_{column}_{table}"
        if dialect == "sqlite":
            op.execute(
                f"ALTER TABLE orders ADD COLUMN {column} {column_type.compile(op.get_bind().dialect)} "
                f"CONSTRAINT {name} REFERENCES {table} (id)"
            )
        else:
            op.add_column("orders", sa.Column(column, column_type, nullable=True))
            op.create_foreign_key(name, "orders", table, [column], ["id"])
    op.add_column("orders", sa.Column("gift_message", sa.Text(), nullable=True))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in triggers.drop_append_only(dialect, CERTIFICATES | APPEND_ONLY):
        op.execute(statement)
    # Certificates of compliance retirements have no order; they cannot survive the downgrade.
    op.execute("DELETE FROM certificates WHERE order_id IS NULL")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_organisation_id"))
        batch_op.drop_constraint(batch_op.f("ck_certificates_origin_known"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_certificates_organisation_id_organisations"), type_="foreignkey"
        )
        batch_op.alter_column("order_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("organisation_id")
    for statement in triggers.append_only(dialect, CERTIFICATES):
        op.execute(statement)

    op.drop_index(op.f("ix_orders_event_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_quote_id"), table_name="orders")
    if dialect == "sqlite":
        # SQLite refuses DROP COLUMN on a column with a foreign key, so the table is copied. The copy
        # drops ``orders``, which SQLite refuses while order events or certificates refer to its rows:
        # this downgrade works on a database without orders (on PostgreSQL, always).
        with op.batch_alter_table("orders", schema=None, recreate="always") as batch_op:
            for column in ("gift_message", "event_id", "quote_id"):
                batch_op.drop_column(column)
    else:
        op.drop_constraint("fk_orders_event_id_carbon_neutral_events", "orders", type_="foreignkey")
        op.drop_constraint("fk_orders_quote_id_quotes", "orders", type_="foreignkey")
        for column in ("gift_message", "event_id", "quote_id"):
            op.drop_column("orders", column)

    op.drop_table("carbon_neutral_events")
    op.drop_table("quote_lines")
    op.drop_table("quotes")
