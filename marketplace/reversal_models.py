"""Tables of reversals and ex-ante pre-orders: buffer compensations, lot status history, pre-orders.

A :class:`BufferCompensation` records that the registry cancelled credits from the buffer pool to make
good a verified loss (fire, felling) in a project: which loss (monitoring report and period), which ledger
``cancel`` entry, how many kilograms, and — in :class:`BufferCompensationBatch` — the project's batches
issued before that entry, whose certificates then read "compensated by buffer". A
:class:`LotStatusChange` is one suspension or resumption of a lot: who, when, why, and the compensation
that caused it when the registry's reversal suspended the lot itself. ``lots.status`` is the cache of the
latest change, written in the same transaction.

Ex-ante (预售) credits: a :class:`PreorderListing` offers announced, not yet verified credits of a
project's vintage up to a cap; a :class:`Preorder` is one buyer's claim on part of it (nothing is on the
ledger, so it can be neither transferred nor retired); a :class:`PreorderConversion` records the one
conversion of a listing into ordinary orders on a lot of the issued batch, and a
:class:`PreorderOutcome` what became of each pre-order (converted into an order, or cancelled and why).

Every table here is a record of facts: inserted, never changed (triggers in migration 0010).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.orm import Base

PREORDER_OUTCOMES = ("converted", "cancelled")


class BufferCompensation(Base):
    __tablename__ = "buffer_compensations"
    __table_args__ = (CheckConstraint("compensated_kg > 0", name="compensated_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("monitoring_reports.id"), unique=True)
    """The verified monitoring report of the loss; one compensation per report."""
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    cancel_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq"), unique=True)
    """The ledger ``cancel`` entry that took the kilograms out of the buffer pool."""
    compensated_kg: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(200))


class BufferCompensationBatch(Base):
    """A batch of the project issued before the compensation's cancel entry: its credits are affected."""

    __tablename__ = "buffer_compensation_batches"
    __table_args__ = (UniqueConstraint("compensation_id", "batch_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compensation_id: Mapped[int] = mapped_column(ForeignKey("buffer_compensations.id"))
    batch_id: Mapped[str] = mapped_column(String(40), ForeignKey("ledger_batches.id"), index=True)


class LotStatusChange(Base):
    __tablename__ = "lot_status_changes"
    __table_args__ = (
        CheckConstraint(
            "from_status IN ('listed', 'suspended') AND to_status IN ('listed', 'suspended')"
            " AND from_status <> to_status",
            name="statuses_known",
        ),
        UniqueConstraint("lot_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[str] = mapped_column(String(64), ForeignKey("lots.id"))
    position: Mapped[int] = mapped_column(Integer)
    """0, 1, 2, … per lot: the unique constraint stops two concurrent changes from both being recorded."""
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    compensation_id: Mapped[int | None] = mapped_column(ForeignKey("buffer_compensations.id"))


class PreorderListing(Base):
    __tablename__ = "preorder_listings"
    __table_args__ = (
        CheckConstraint("cap_kg > 0", name="cap_positive"),
        CheckConstraint("price_fen_per_t > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    vintage: Mapped[str] = mapped_column(String(4))
    cap_kg: Mapped[int] = mapped_column(BigInteger)
    price_fen_per_t: Mapped[int] = mapped_column(BigInteger)
    expected_issuance_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))


class Preorder(Base):
    __tablename__ = "preorders"
    __table_args__ = (
        CheckConstraint("quantity_kg > 0", name="quantity_positive"),
        CheckConstraint("price_fen > 0", name="price_positive"),
        CheckConstraint("kind IN ('enterprise', 'event', 'individual')", name="kind_known"),
        CheckConstraint(
            "(kind = 'individual' AND buyer_organisation_id IS NULL)"
            " OR (kind <> 'individual' AND buyer_organisation_id IS NOT NULL)",
            name="buyer_known",
        ),
        UniqueConstraint("listing_id", "position"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Opaque and random (``P-`` and 128 bits): for an individual it is what shows the pre-order again."""
    listing_id: Mapped[int] = mapped_column(ForeignKey("preorder_listings.id"))
    position: Mapped[int] = mapped_column(Integer)
    """Placement order within the listing (1, 2, …), assigned under the listing's lock."""
    kind: Mapped[str] = mapped_column(String(16))
    buyer_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    buyer_display_name: Mapped[str] = mapped_column(String(200))
    beneficiary_name: Mapped[str] = mapped_column(String(200))
    beneficiary_public: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text)
    quantity_kg: Mapped[int] = mapped_column(BigInteger)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    """The listing's price per tonne applied to the quantity (rounded up), agreed at placement."""
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    anonymous_idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)


class PreorderConversion(Base):
    __tablename__ = "preorder_conversions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("preorder_listings.id"), unique=True)
    lot_id: Mapped[str] = mapped_column(String(64), ForeignKey("lots.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    converted_by: Mapped[str] = mapped_column(String(200))


class PreorderOutcome(Base):
    __tablename__ = "preorder_outcomes"
    __table_args__ = (
        CheckConstraint(
            "(outcome = 'converted' AND order_id IS NOT NULL)"
            " OR (outcome = 'cancelled' AND order_id IS NULL)",
            name="outcome_complete",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    preorder_id: Mapped[str] = mapped_column(String(64), ForeignKey("preorders.id"), unique=True)
    conversion_id: Mapped[int] = mapped_column(ForeignKey("preorder_conversions.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("orders.id"), unique=True)
    cause: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
