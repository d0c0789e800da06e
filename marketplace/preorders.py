"""Ex-ante pre-orders (预售): announced, not yet verified credits listed up to a cap, converted at issuance.

The registry lists a project's vintage for pre-order (:func:`create_listing`): a cap in kilograms, a price
per tonne, an expected issuance date. Buyers place pre-orders (:func:`place_preorder`) until the cap is
reached — never beyond it, however many place at once: the listing row is locked first (PostgreSQL
``SELECT … FOR UPDATE``; on SQLite the writing unit of work's ``BEGIN IMMEDIATE`` holds the database's
write lock), and only then is the sum already placed read. The lock also makes each pre-order's
``position`` (placement order, 1, 2, …) a gap-free sequence per listing.

A pre-order is a claim on credits that do not exist yet: nothing is on the ledger, so there is nothing to
transfer or retire, and this module offers no way to do either. When the batch is issued and listed as a
lot, the registry converts the listing (:func:`convert_listing`): in placement order, each pre-order that
the lot's available stock still covers becomes an ordinary order (:mod:`marketplace.orders`) reserving its
kilograms in that lot at the pre-order's agreed price, to be paid like any other order; once one does
not fit, it and every later one are cancelled with the cause stated (strict placement order: a later,
smaller pre-order never overtakes an earlier one). Conversion is all-or-nothing (one transaction) and
idempotent (one :class:`~marketplace.reversal_models.PreorderConversion` per listing; converting again
with the same lot returns it).

Functions take the caller's session and never commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import limits
from ledger.orm import as_utc
from marketplace import order_notes as notes
from marketplace import order_store
from marketplace import orders as machine
from marketplace.errors import MarketplaceError, check_utc, check_year, checked_text
from marketplace.lots import LotFilters, available_kg
from marketplace.models import Lot, LotReservation, MarketOrder
from marketplace.money import MoneyError, check_amount_fen, price_fen
from marketplace.orders import LotHold, OrderKind
from marketplace.reversal_models import (
    Preorder,
    PreorderConversion,
    PreorderListing,
    PreorderOutcome,
)
from offsets.models import Project

DEFAULT_CONVERSION_TTL_S = machine.MAX_RESERVATION_TTL_S
"""A converted pre-order's reservation lasts a week by default: its buyer has to learn of it first."""
MAX_TEXT_CHARS = 200
MAX_DETAILS_CHARS = 1000


class PreorderError(MarketplaceError):
    """A request about pre-orders that is refused; nothing has been written."""

    code = "preorder-error"
    status = 422


class PreorderNotFound(PreorderError):
    code = "not-found"
    status = 404


class CapExceeded(PreorderError):
    """The pre-order would take the listing over its cap."""

    code = "preorder-cap-exceeded"
    status = 409


class PreorderConflict(PreorderError):
    """The listing is already converted (with another lot), or the lot does not fit it."""

    code = "preorder-conflict"
    status = 409


@dataclass(frozen=True)
class NewPreorder:
    kind: OrderKind
    quantity_kg: int
    buyer_organisation_id: int | None
    buyer_display_name: str
    beneficiary_name: str
    beneficiary_public: bool
    reason: str
    details: str
    anonymous_idempotency_key: str | None = None


def check_within_cap(cap_kg: int, placed_kg: int, quantity_kg: int) -> None:
    """Refuse a pre-order of ``quantity_kg`` when ``placed_kg`` already placed plus it exceed ``cap_kg``."""
    assert 0 <= placed_kg <= cap_kg, (placed_kg, cap_kg)
    if quantity_kg > cap_kg - placed_kg:
        raise CapExceeded(
            f"{quantity_kg} kg asked for but only {cap_kg - placed_kg} kg of the {cap_kg} kg cap remain",
            field="quantity_kg",
        )


# --- listings -----------------------------------------------------------------------------------------


def create_listing(
    session: Session,
    *,
    project_id: int,
    vintage: str,
    cap_kg: int,
    price_fen_per_t: int,
    expected_issuance_on: date,
    actor: str,
    now: datetime,
) -> PreorderListing:
    """List a project's announced, not yet verified credits of ``vintage`` for pre-order."""
    _check_utc(now)
    project = session.get(Project, project_id)
    if project is None:
        raise PreorderNotFound(f"no project {project_id}", field="project_id")
    if project.status != "registered":
        raise PreorderConflict(
            f"project {project.code} is {project.status}; only a registered project is listed",
            field="project_id",
        )
    check_year(vintage, PreorderError, "vintage")
    _check_quantity(cap_kg, "cap_kg")
    _check_money(price_fen_per_t, "price_fen_per_t")
    if not isinstance(expected_issuance_on, date) or expected_issuance_on < now.date():
        raise PreorderError("must be a date, today or later", field="expected_issuance_on")
    listing = PreorderListing(
        project_id=project.id,
        vintage=vintage,
        cap_kg=cap_kg,
        price_fen_per_t=price_fen_per_t,
        expected_issuance_on=expected_issuance_on,
        created_at=now,
        created_by=_text(actor, "actor", MAX_TEXT_CHARS),
    )
    session.add(listing)
    session.flush()
    return listing


def placed_kg(session: Session, listing_id: int) -> int:
    """Kilograms pre-ordered from the listing so far (every pre-order placed counts against the cap)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Preorder.quantity_kg), 0)).where(Preorder.listing_id == listing_id)
    )
    return int(total or 0)


def listing_json(session: Session, listing: PreorderListing) -> dict[str, Any]:
    project = session.get(Project, listing.project_id)
    assert project is not None
    placed = placed_kg(session, listing.id)
    conversion = session.scalar(select(PreorderConversion).where(PreorderConversion.listing_id == listing.id))
    return {
        "id": listing.id,
        "project_id": project.id,
        "project_code": project.code,
        "project_name": project.name,
        "vintage": listing.vintage,
        "cap_kg": listing.cap_kg,
        "placed_kg": placed,
        "remaining_kg": max(listing.cap_kg - placed, 0) if conversion is None else 0,
        "price_fen_per_t": listing.price_fen_per_t,
        "expected_issuance_on": listing.expected_issuance_on.isoformat(),
        "created_at": as_utc(listing.created_at).isoformat(),
        "status": "open" if conversion is None else "converted",
        "conversion": (
            {"lot_id": conversion.lot_id, "at": as_utc(conversion.at).isoformat()} if conversion else None
        ),
    }


# --- pre-orders ---------------------------------------------------------------------------------------


def new_preorder_id() -> str:
    """128 random bits: unguessable, so that the id alone can show a pre-order placed without a key."""
    return "P-" + secrets.token_hex(16)


def place_preorder(session: Session, listing_id: int, command: NewPreorder, *, now: datetime) -> Preorder:
    """Pre-order ``command.quantity_kg`` from the listing at its price, within its cap, or refuse."""
    _check_utc(now)
    _check_quantity(command.quantity_kg, "quantity_kg")
    if not isinstance(command.kind, OrderKind):
        raise PreorderError("must be enterprise, event or individual", field="kind")
    if (command.kind is OrderKind.INDIVIDUAL) != (command.buyer_organisation_id is None):
        raise PreorderError("individuals order without an organisation, others with theirs", field="kind")
    # The lock first, then every read that decides: a sum read before it could be stale.
    listing = _locked_listing(session, listing_id)
    if session.scalar(select(PreorderConversion.id).where(PreorderConversion.listing_id == listing.id)):
        raise PreorderConflict(
            "the listing has been converted: order from its lot instead", field="listing_id"
        )
    already = placed_kg(session, listing.id)
    check_within_cap(listing.cap_kg, already, command.quantity_kg)
    try:
        amount_fen = price_fen(command.quantity_kg, listing.price_fen_per_t)
    except MoneyError as error:
        raise PreorderError(error.message, field=error.field) from error
    position = session.scalar(select(func.count()).where(Preorder.listing_id == listing.id)) or 0
    preorder = Preorder(
        id=new_preorder_id(),
        listing_id=listing.id,
        position=int(position) + 1,
        kind=command.kind.value,
        buyer_organisation_id=command.buyer_organisation_id,
        buyer_display_name=_text(command.buyer_display_name, "display_name", MAX_TEXT_CHARS),
        beneficiary_name=_text(command.beneficiary_name, "beneficiary.name", MAX_TEXT_CHARS),
        beneficiary_public=command.beneficiary_public,
        reason=command.reason,
        details=command.details.strip()[:MAX_DETAILS_CHARS],
        quantity_kg=command.quantity_kg,
        price_fen=amount_fen,
        placed_at=now,
        anonymous_idempotency_key=command.anonymous_idempotency_key,
    )
    session.add(preorder)
    session.flush()
    assert placed_kg(session, listing.id) <= listing.cap_kg
    return preorder


def preorder_json(session: Session, preorder: Preorder) -> dict[str, Any]:
    outcome = session.scalar(select(PreorderOutcome).where(PreorderOutcome.preorder_id == preorder.id))
    return {
        "id": preorder.id,
        "listing_id": preorder.listing_id,
        "position": preorder.position,
        "kind": preorder.kind,
        "state": "placed" if outcome is None else outcome.outcome,
        "quantity_kg": preorder.quantity_kg,
        "price_fen": preorder.price_fen,
        "buyer": {
            "organisation_id": preorder.buyer_organisation_id,
            "display_name": preorder.buyer_display_name,
        },
        "beneficiary": {"name": preorder.beneficiary_name, "public": preorder.beneficiary_public},
        "reason": preorder.reason,
        "details": preorder.details,
        "placed_at": as_utc(preorder.placed_at).isoformat(),
        "order_id": outcome.order_id if outcome is not None else None,
        "cause": outcome.cause if outcome is not None else None,
        "transferable": False,
        "retirable": False,
    }


# --- conversion at issuance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversionResult:
    conversion: PreorderConversion
    outcomes: tuple[PreorderOutcome, ...]
    repeated: bool = False
    """True when the listing had already been converted onto the same lot (nothing new was written)."""


def convert_listing(
    session: Session,
    listing_id: int,
    *,
    lot_id: str,
    actor: str,
    now: datetime,
    ttl_s: int = DEFAULT_CONVERSION_TTL_S,
) -> ConversionResult:
    """Turn the listing's pre-orders into orders reserving ``lot_id``, in placement order; idempotent."""
    _check_utc(now)
    if (
        isinstance(ttl_s, bool)
        or not isinstance(ttl_s, int)
        or not 1 <= ttl_s <= machine.MAX_RESERVATION_TTL_S
    ):
        raise PreorderError(f"must be 1 to {machine.MAX_RESERVATION_TTL_S} seconds", field="ttl_s")
    listing = _locked_listing(session, listing_id)
    existing = session.scalar(select(PreorderConversion).where(PreorderConversion.listing_id == listing.id))
    if existing is not None:
        if existing.lot_id != lot_id:
            raise PreorderConflict(
                f"the listing was already converted onto lot {existing.lot_id}", field="lot_id"
            )
        return ConversionResult(existing, _outcomes(session, existing.id), repeated=True)
    # The lot's row lock orders this conversion with reservations of the same lot (marketplace.reservations).
    lot = session.scalar(
        select(Lot).where(Lot.id == lot_id).with_for_update().execution_options(populate_existing=True)
    )
    if lot is None:
        raise PreorderNotFound(f"no lot {lot_id}", field="lot_id")
    if lot.project_id != listing.project_id or lot.vintage != listing.vintage:
        raise PreorderConflict(
            f"lot {lot_id} is not of the listing's project and vintage {listing.vintage}", field="lot_id"
        )
    if lot.status != "listed":
        raise PreorderConflict(f"lot {lot_id} is {lot.status}", field="lot_id")
    conversion = PreorderConversion(
        listing_id=listing.id, lot_id=lot.id, at=now, converted_by=_text(actor, "actor", MAX_TEXT_CHARS)
    )
    session.add(conversion)
    session.flush()
    remaining_kg = available_kg(session, lot)
    preorders = session.scalars(
        select(Preorder).where(Preorder.listing_id == listing.id).order_by(Preorder.position)
    ).all()
    outcomes = []
    short = False
    for preorder in preorders:
        if not short and preorder.quantity_kg <= remaining_kg:
            order = _order_from(session, preorder, lot, now=now, ttl_s=ttl_s)
            remaining_kg -= preorder.quantity_kg
            outcome = PreorderOutcome(
                preorder_id=preorder.id,
                conversion_id=conversion.id,
                outcome="converted",
                order_id=order.id,
                cause=f"converted into order {order.id} reserving lot {lot.id}",
                at=now,
            )
        else:
            short = True
            outcome = PreorderOutcome(
                preorder_id=preorder.id,
                conversion_id=conversion.id,
                outcome="cancelled",
                order_id=None,
                cause=(
                    f"issued quantity short: lot {lot.id} had {remaining_kg} kg left for pre-order "
                    f"{preorder.position} of {preorder.quantity_kg} kg after serving earlier pre-orders "
                    "in placement order"
                ),
                at=now,
            )
        session.add(outcome)
        outcomes.append(outcome)
    session.flush()
    return ConversionResult(conversion, tuple(outcomes))


def conversion_json(session: Session, result: ConversionResult) -> dict[str, Any]:
    listing = session.get(PreorderListing, result.conversion.listing_id)
    assert listing is not None
    return {
        "listing_id": result.conversion.listing_id,
        "lot_id": result.conversion.lot_id,
        "at": as_utc(result.conversion.at).isoformat(),
        "converted_by": result.conversion.converted_by,
        "outcomes": [
            {
                "preorder_id": outcome.preorder_id,
                "outcome": outcome.outcome,
                "order_id": outcome.order_id,
                "cause": outcome.cause,
            }
            for outcome in result.outcomes
        ],
    }


def _order_from(session: Session, preorder: Preorder, lot: Lot, *, now: datetime, ttl_s: int) -> MarketOrder:
    """An ordinary order for the pre-order, reserved in ``lot`` at the pre-order's agreed price."""
    order_id = order_store.new_order_id()
    hold = LotHold(lot_id=lot.id, quantity_kg=preorder.quantity_kg)
    kind = OrderKind(preorder.kind)
    order = machine.place_order(order_id, kind, preorder.quantity_kg, preorder.price_fen, at=now)
    detail = notes.CONVERTED_FROM_PREORDER.format(preorder_id=preorder.id)
    order = machine.reserve(order, [hold], at=now, ttl_s=ttl_s, detail=detail)
    explanation = (
        notes.FROM_PREORDER.format(
            preorder_id=preorder.id, listing_id=preorder.listing_id, position=preorder.position
        ),
        notes.PREORDER_LOT.format(
            lot_id=lot.id, vintage=lot.vintage, county_code=lot.county_code, quantity_kg=preorder.quantity_kg
        ),
    )
    row = MarketOrder(
        id=order_id,
        kind=kind.value,
        buyer_organisation_id=preorder.buyer_organisation_id,
        buyer_display_name=preorder.buyer_display_name,
        quantity_kg=preorder.quantity_kg,
        price_fen=preorder.price_fen,
        state=order.state.value,
        beneficiary_name=preorder.beneficiary_name,
        beneficiary_public=preorder.beneficiary_public,
        reason=preorder.reason,
        details=preorder.details,
        sourcing=_canonical_sourcing(),
        allocation_explanation="\n".join(explanation),
        anonymous_idempotency_key=None,
        placed_at=now,
    )
    session.add(row)
    session.add(
        LotReservation(
            order_id=order_id,
            lot_id=lot.id,
            quantity_kg=preorder.quantity_kg,
            reserved_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    session.flush()
    order_store.write_events(session, row, order)
    return row


def _locked_listing(session: Session, listing_id: int) -> PreorderListing:
    """The listing, its row locked for the rest of the transaction (``SELECT … FOR UPDATE``; on SQLite the
    writing unit of work already holds the database's write lock) and read afresh under the lock."""
    listing = session.scalar(
        select(PreorderListing)
        .where(PreorderListing.id == listing_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if listing is None:
        raise PreorderNotFound(f"no pre-order listing {listing_id}", field="listing_id")
    return listing


def _canonical_sourcing() -> str:
    """A converted order was not allocated by sourcing preferences: it records none (the defaults)."""
    return json.dumps(asdict(LotFilters()), sort_keys=True)


def _outcomes(session: Session, conversion_id: int) -> tuple[PreorderOutcome, ...]:
    rows: Sequence[PreorderOutcome] = session.scalars(
        select(PreorderOutcome)
        .join(Preorder, Preorder.id == PreorderOutcome.preorder_id)
        .where(PreorderOutcome.conversion_id == conversion_id)
        .order_by(Preorder.position)
    ).all()
    return tuple(rows)


def _check_quantity(value: object, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limits.MAX_QUANTITY_KG:
        raise PreorderError(
            f"must be a whole number of kilograms, 1 to {limits.MAX_QUANTITY_KG}", field=field
        )


def _check_money(value: object, field: str) -> None:
    try:
        check_amount_fen(value, field)
    except MoneyError as error:
        raise PreorderError(error.message, field=field) from error


def _text(value: object, field: str, max_chars: int) -> str:
    return checked_text(value, field, max_chars, PreorderError)


def _check_utc(at: object) -> None:
    check_utc(at, PreorderError)
