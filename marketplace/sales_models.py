"""Farmer-share payouts: what the registry records having paid to a lot's households and collectives.

A lot's benefit-sharing terms (``Lot.farmer_share_percent``) make part of its revenue owed to the people
of the project; :mod:`marketplace.sales` computes what is owed, and these rows record what was paid, each
entered by the registry with the bank transfer's reference. They are facts, inserted and never changed
(append-only triggers, migration 0009): a mistaken payout is corrected by a new row with a negative
amount that names the payout it corrects (``corrects_payout_id``), never by editing or deleting the first.
``request_id`` (derived from the API's ``Idempotency-Key``) is unique, so a retried request records once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.orm import Base

RECIPIENT_KINDS = ("household", "collective")


class FarmerPayout(Base):
    __tablename__ = "farmer_payouts"
    __table_args__ = (
        CheckConstraint(
            "(corrects_payout_id IS NULL AND amount_fen > 0)"
            " OR (corrects_payout_id IS NOT NULL AND amount_fen < 0)",
            name="amount_sign",
        ),
        CheckConstraint("recipient_kind IN ('household', 'collective')", name="recipient_kind_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[str] = mapped_column(String(64), ForeignKey("lots.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    """Positive for a payout; negative for a correction, which then names the payout it corrects."""
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When the money left (the bank transfer's date), as the registry states it; UTC."""
    recipient_kind: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(200))
    """Who received it: the household or the collective (村集体, 合作社) as the transfer names them."""
    reference: Mapped[str] = mapped_column(String(100))
    """The bank transfer's reference (or, for a correction, the reversing transfer's)."""
    note: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(200))
    """The registry key that recorded it (organisation / key name (prefix))."""
    request_id: Mapped[str] = mapped_column(String(300), unique=True)
    corrects_payout_id: Mapped[int | None] = mapped_column(ForeignKey("farmer_payouts.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
