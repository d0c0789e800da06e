"""Compliance retirement (履约): an enterprise retires kilograms it holds for a named compliance period.

The retirement is a ledger ``retire`` from the enterprise's own account, in the enterprise's name (public:
enterprises are public, issue 5), with reason ``compliance_period`` and the period as its details, and it
produces a :class:`~marketplace.models.Certificate` naming the organisation instead of an order. The
ledger request id is ``compliance:<organisation id>:<SHA-256 of the caller's request key>`` (the API's
``Idempotency-Key``): a retried request finds the first entry and its certificate, and never retires
twice, even after the API's idempotency records are pruned. A digest rather than the key itself, because
an HTTP header may hold characters (and lengths) that a ledger request id may not.

Functions take the caller's session and never commit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import limits
from ledger.commands import Beneficiary, Retire, Selection
from ledger.ranges import SerialRange
from ledger.sequencer import Sequencer
from ledger.value_checks import check_text
from marketplace.models import Certificate
from marketplace.order_store import new_certificate_id
from offsets.errors import Conflict, InvalidInput, NotFound
from offsets.models import Organisation

COMPLIANCE_REASON = "compliance_period"
MAX_PERIOD_CHARS = 200
MAX_REQUEST_KEY_CHARS = 255


@dataclass(frozen=True)
class ComplianceRetirement:
    """What an enterprise asks to retire: a quantity (optionally from some batches) or exact ranges."""

    compliance_period: str
    """E.g. ``2025 年度履约 / compliance year 2025``; stated on the ledger entry and the certificate."""
    quantity_kg: int | None = None
    batches: tuple[str, ...] = ()
    ranges: tuple[SerialRange, ...] = ()

    def selection(self) -> Selection:
        if self.ranges:
            if self.quantity_kg is not None and self.quantity_kg != sum(r.quantity_kg for r in self.ranges):
                raise InvalidInput("the ranges do not add up to quantity_kg", field="quantity_kg")
            if self.batches:
                raise InvalidInput("give either ranges or batches, not both", field="batches")
            return Selection(ranges=self.ranges)
        if self.quantity_kg is None:
            raise InvalidInput("give the kilograms to retire, or the exact ranges", field="quantity_kg")
        return Selection(quantity_kg=self.quantity_kg, batches=self.batches)


def ledger_request_id(organisation_id: int, request_key: str) -> str:
    """The retirement's ledger request id, derived from the caller's request key (see the module doc)."""
    digest = hashlib.sha256(request_key.encode("utf-8")).hexdigest()
    request_id = f"compliance:{organisation_id}:{digest}"
    assert len(request_id) <= limits.MAX_REQUEST_ID_CHARS
    return request_id


def retire_for_compliance(
    session: Session,
    sequencer: Sequencer,
    *,
    organisation_id: int,
    request: ComplianceRetirement,
    request_key: str,
    now: datetime,
) -> Certificate:
    """Retire the enterprise's kilograms for the period and return the certificate (the first, if retried).

    The ledger refuses what the account does not hold (``InsufficientHolding``, ``RangeNotHeld``), so
    an enterprise can only ever retire its own credits.
    """
    if not isinstance(request_key, str) or not 1 <= len(request_key) <= MAX_REQUEST_KEY_CHARS:
        raise InvalidInput("a request key of 1 to 255 characters is required", field="Idempotency-Key")
    period = check_text(request.compliance_period, "compliance_period", MAX_PERIOD_CHARS, required=True)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"no organisation {organisation_id}", field="organisation_id")
    if organisation.kind != "enterprise":
        raise Conflict("only an enterprise retires credits for a compliance period", field="organisation_id")
    if organisation.ledger_account_id is None:
        raise Conflict("the enterprise has no ledger account", field="organisation_id")
    command = Retire(
        request_id=ledger_request_id(organisation_id, request_key),
        account=organisation.ledger_account_id,
        selection=request.selection(),
        beneficiary=Beneficiary(name=organisation.name, public=True),
        reason=COMPLIANCE_REASON,
        details=period,
    )
    [entry] = sequencer.append(session, [command])
    certificate = session.scalar(select(Certificate).where(Certificate.seq == entry.seq))
    if certificate is None:
        certificate = Certificate(
            id=new_certificate_id(),
            order_id=None,
            organisation_id=organisation_id,
            seq=entry.seq,
            created_at=now,
        )
        session.add(certificate)
        session.flush()
    assert certificate.organisation_id == organisation_id, "a request id is scoped by the organisation"
    return certificate
