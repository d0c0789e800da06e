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
    UniqueConstraint,
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


ORDER_KINDS = ("enterprise", "event", "individual")
ORDER_STATES = ("created", "reserved", "paid", "fulfilled", "expired", "cancelled", "refunded")


class MarketOrder(Base):
    """An order as persisted: what was bought, by whom, for whom, and its current state.

    ``state`` is a cache of the last :class:`MarketOrderEvent`'s target (the events are the record); it is
    the one column that changes, always together with a new event in the same transaction.
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("quantity_kg > 0", name="quantity_positive"),
        CheckConstraint("price_fen > 0", name="price_positive"),
        CheckConstraint("kind IN ('enterprise', 'event', 'individual')", name="kind_known"),
        CheckConstraint(
            "state IN ('created', 'reserved', 'paid', 'fulfilled', 'expired', 'cancelled', 'refunded')",
            name="state_known",
        ),
        CheckConstraint(
            "(kind = 'individual' AND buyer_organisation_id IS NULL)"
            " OR (kind <> 'individual' AND buyer_organisation_id IS NOT NULL)",
            name="buyer_known",
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Opaque and random: for an individual order placed without a key it is what lets the buyer see it."""
    kind: Mapped[str] = mapped_column(String(16))
    buyer_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    buyer_display_name: Mapped[str] = mapped_column(String(200))
    """For individuals a display name only: no e-mail or other contact detail is stored."""
    quantity_kg: Mapped[int] = mapped_column(BigInteger)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), index=True)
    beneficiary_name: Mapped[str] = mapped_column(String(200))
    beneficiary_public: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text)
    sourcing: Mapped[str] = mapped_column(Text)
    """The buyer's sourcing preferences as canonical JSON (marketplace.lots.LotFilters' fields)."""
    allocation_explanation: Mapped[str] = mapped_column(Text)
    """The latest allocation's explanation, one line per rule or lot."""
    anonymous_idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    """``Idempotency-Key`` of an order placed without an API key (keyed requests use idempotency_records)."""
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fulfilment_seq: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq"))
    quote_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("quotes.id"), index=True, unique=True)
    """The quote the order accepted (marketplace.quotes); a quote is accepted by one order only."""
    event_id: Mapped[int | None] = mapped_column(ForeignKey("carbon_neutral_events.id"), index=True)
    """For an event order placed from a registered event (marketplace.events)."""
    gift_message: Mapped[str | None] = mapped_column(Text)
    """A gift's message to its recipient (the beneficiary); kept off the public ledger."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    """The signed-in individual who placed it (web pages), for their order history; ``None`` otherwise."""


class MarketOrderEvent(Base):
    """One transition of an order (marketplace.orders.OrderEvent), inserted and never changed."""

    __tablename__ = "order_events"
    __table_args__ = (
        CheckConstraint("paid_fen >= 0 AND refunded_fen >= 0", name="money_not_negative"),
        UniqueConstraint("order_id", "position"),
        UniqueConstraint("order_id", "provider_event_id", "cause"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), ForeignKey("orders.id"))
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cause: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    provider_event_id: Mapped[str | None] = mapped_column(String(128))
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger)


class Certificate(Base):
    """One per retirement: an opaque id (the holder's bearer secret) naming its origin and ledger entry.

    The origin is an order (retired at fulfilment) or an organisation retiring what it holds (a compliance
    retirement, marketplace.compliance); at least one of the two is named.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("order_id IS NOT NULL OR organisation_id IS NOT NULL", name="origin_known"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("orders.id"), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    """The retiring organisation, for a retirement from its own ledger account."""
    seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# The journeys' tables that orders refer to (quotes, events) join the same metadata.
from marketplace import journey_models  # noqa: E402, F401
