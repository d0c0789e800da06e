"""The marketplace's tables: lots (a batch's kilograms in RETAIL, priced) and their reservations.

A :class:`Lot` is one batch listed once: its kilograms were moved from the project owner's ledger account
into ``RETAIL`` by a ledger ``transfer`` whose request id is derived from the lot id, and the lot copies the
sourcing facts a buyer filters on (county, zone, vintage, project type, poverty-area status with the
source of the list it was read from, benefit-sharing terms) as they were at listing time, so that a later
edit of the region data does not silently change what was sold.

One lot per batch (``batch_id`` is unique): the ledger's holdings carry no lot, so RETAIL's holdings of a
batch can be attributed to a lot only if exactly one lot owns that batch in the inventory.

A :class:`LotReservation` holds kilograms of one lot for one order until it is released — by the order
ending (paid and fulfilled, failed, cancelled) or by the expiry job. Its ``released_at`` and
``release_cause`` are written once, when it stops holding stock; nothing else about it ever changes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.orm import Base

LOT_STATUSES = ("listed", "suspended")
RELEASE_CAUSES = ("expired", "released")


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint("price_fen_per_t > 0", name="price_positive"),
        CheckConstraint("listed_kg > 0", name="listed_positive"),
        CheckConstraint("farmer_share_percent >= 0 AND farmer_share_percent <= 100", name="farmer_share"),
        CheckConstraint("status IN ('listed', 'suspended')", name="status_known"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Chosen by the registry (e.g. ``L-2024-0001``); ``LotHold.lot_id`` and the listing's request id."""
    batch_id: Mapped[str] = mapped_column(String(40), ForeignKey("ledger_batches.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    price_fen_per_t: Mapped[int] = mapped_column(BigInteger)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    zone: Mapped[str] = mapped_column(String(8), index=True)
    vintage: Mapped[str] = mapped_column(String(4))
    project_type: Mapped[str] = mapped_column(String(24))
    poverty_county: Mapped[bool] = mapped_column(Boolean)
    """Whether the county is a former poverty county (offsets.regions.poverty_status) at listing time."""
    poverty_source: Mapped[str] = mapped_column(Text)
    """Where that answer came from: the county's row source in poverty_counties.csv, or the list itself."""
    farmer_share_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    """Benefit-sharing terms: the share of the lot's revenue owed to the project's households/collectives."""
    listed_kg: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    transfer_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq"))
    """The ledger entry that moved the kilograms into RETAIL."""


class LotReservation(Base):
    __tablename__ = "lot_reservations"
    __table_args__ = (
        CheckConstraint("quantity_kg > 0", name="quantity_positive"),
        CheckConstraint("expires_at > reserved_at", name="expiry_after_reservation"),
        CheckConstraint(
            "(released_at IS NULL AND release_cause IS NULL)"
            " OR (released_at IS NOT NULL AND release_cause IN ('expired', 'released'))",
            name="release_complete",
        ),
        Index("ix_lot_reservations_lot_released", "lot_id", "released_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), index=True)
    lot_id: Mapped[str] = mapped_column(String(64), ForeignKey("lots.id"))
    quantity_kg: Mapped[int] = mapped_column(BigInteger)
    reserved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    release_cause: Mapped[str | None] = mapped_column(String(16))
