"""The buyer journeys' tables: quotes (with their priced lines) and the events organisers offset.

A :class:`Quote` is a priced, explained allocation given to one organisation without reserving anything:
what the deterministic allocation of :mod:`marketplace.reservations` would take from which lot, at which
price per tonne, until when. An order that accepts it (``orders.quote_id``, unique: a quote is accepted
once) must come out at exactly those lines, or is refused.

A :class:`CarbonNeutralEvent` is an organiser's event (大型活动) sized by the event calculator of
:mod:`offsets.footprints`: the calculator's input, the factor-set version, the breakdown by the 2019
guideline's categories and the whole kilograms to offset are stored as they were computed, so that a later
factor set does not silently re-size an event that was already offset.

Quotes, their lines and events are facts: inserted, never changed (triggers in migration 0008).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
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


class Quote(Base):
    __tablename__ = "quotes"
    __table_args__ = (
        CheckConstraint("quantity_kg > 0", name="quantity_positive"),
        CheckConstraint("total_fen > 0", name="total_positive"),
        CheckConstraint("valid_until > created_at", name="validity_after_creation"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Opaque and random (``Q-`` and 128 bits)."""
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    quantity_kg: Mapped[int] = mapped_column(BigInteger)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    sourcing: Mapped[str] = mapped_column(Text)
    """The sourcing preferences as canonical JSON (marketplace.lots.LotFilters' fields)."""
    explanation: Mapped[str] = mapped_column(Text)
    """The allocation's explanation, one line per rule or lot."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QuoteLine(Base):
    """Kilograms of one lot in a quote, at the lot's price per tonne when quoted."""

    __tablename__ = "quote_lines"
    __table_args__ = (
        CheckConstraint("quantity_kg > 0", name="quantity_positive"),
        CheckConstraint("price_fen_per_t > 0 AND price_fen > 0", name="price_positive"),
        UniqueConstraint("quote_id", "position"),
        UniqueConstraint("quote_id", "lot_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quote_id: Mapped[str] = mapped_column(String(64), ForeignKey("quotes.id"))
    position: Mapped[int] = mapped_column(Integer)
    lot_id: Mapped[str] = mapped_column(String(64), ForeignKey("lots.id"))
    quantity_kg: Mapped[int] = mapped_column(BigInteger)
    price_fen_per_t: Mapped[int] = mapped_column(BigInteger)
    price_fen: Mapped[int] = mapped_column(BigInteger)


class CarbonNeutralEvent(Base):
    """An organiser's event to be made carbon neutral (碳中和), as sized when it was registered."""

    __tablename__ = "carbon_neutral_events"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("attendees > 0", name="attendees_positive"),
        CheckConstraint("footprint_kg > 0", name="footprint_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str | None] = mapped_column(String(6))
    attendees: Mapped[int] = mapped_column(Integer)
    calculator_input: Mapped[str] = mapped_column(Text)
    """What the event calculator was given (attendees, days and the activities), as canonical JSON."""
    factor_set_version: Mapped[int] = mapped_column(Integer)
    footprint_total_kg: Mapped[str] = mapped_column(String(40))
    """The exact total as a decimal string, rounded up to 1 mg (offsets.footprints.display_kg)."""
    footprint_kg: Mapped[int] = mapped_column(BigInteger)
    """Whole kilograms to offset: the total rounded up."""
    breakdown: Mapped[str] = mapped_column(Text)
    """The calculator's categories and lines, as JSON."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
