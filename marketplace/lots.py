"""Listing lots and finding them: a batch's kilograms moved into RETAIL, priced, with their sourcing facts.

Every function takes the caller's session and never commits: listing appends a ledger ``transfer`` from
the project owner's account to ``RETAIL`` (request id ``lot:<lot id>``, so a retried listing appends
nothing) and records the :class:`~marketplace.models.Lot` in the same transaction. A lot's available
stock is what RETAIL holds of its batch, capped at what was listed, less what unreleased reservations hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ledger.accounts import RETAIL
from ledger.commands import Selection, Transfer
from ledger.models import Batch, Holding
from ledger.sequencer import Sequencer
from ledger.value_checks import check_quantity_kg
from marketplace.errors import MarketplaceError, check_utc, check_year
from marketplace.models import Lot, LotReservation
from marketplace.money import MoneyError, check_amount_fen
from marketplace.orders import IDENTIFIER
from marketplace.reversal_models import BufferCompensationBatch
from offsets import regions
from offsets.models import PROJECT_TYPES, Organisation, Project, ProjectBeneficiary

MAX_LOT_ID_CHARS = 64
POVERTY_LIST = "offsets/data/regions/poverty_counties.csv"


class LotError(MarketplaceError):
    """A request about lots or reservations that is refused; nothing has been written."""

    code = "lot-error"
    status = 422


class InvalidLot(LotError):
    code = "invalid-lot"


class TooManyLots(InvalidLot):
    """The stock is there, but one order taking it could need more serial ranges than its one ledger entry
    may name (``MAX_RANGES_PER_ENTRY``): over too many lots, or lots held in too many pieces."""

    code = "too-many-lots"


class LotConflict(LotError):
    """The lot id or batch is already listed with different terms, or the batch cannot be listed."""

    code = "lot-conflict"
    status = 409


class InsufficientStock(LotError):
    """The matching lots do not have the quantity asked for available."""

    code = "insufficient-stock"
    status = 409


class Sourced(Protocol):
    """What allocation orders lots by: a lot, or a plain candidate carrying the same facts."""

    @property
    def id(self) -> str: ...
    @property
    def vintage(self) -> str: ...
    @property
    def poverty_county(self) -> bool: ...


@dataclass(frozen=True)
class LotFilters:
    """What a buyer requires of the lots an order may come from; ``None`` means no requirement.

    ``prefer_poverty_area`` does not exclude other lots, it only allocates from poverty-area lots first.
    """

    poverty_area_only: bool = False
    prefer_poverty_area: bool = False
    zone: str | None = None
    project_type: str | None = None
    vintage_from: str | None = None
    vintage_to: str | None = None

    def validate(self) -> None:
        if self.zone is not None and self.zone not in regions.ZONE_KEYS:
            raise InvalidLot(f"must be one of {', '.join(regions.ZONE_KEYS)}", field="zone")
        if self.project_type is not None and self.project_type not in PROJECT_TYPES:
            raise InvalidLot(f"must be one of {', '.join(PROJECT_TYPES)}", field="project_type")
        for name in ("vintage_from", "vintage_to"):
            value = getattr(self, name)
            if value is not None:
                check_year(value, InvalidLot, name)
        if self.vintage_from and self.vintage_to and self.vintage_from > self.vintage_to:
            raise InvalidLot("the vintage range ends before it starts", field="vintage_to")


def list_lot(
    session: Session,
    sequencer: Sequencer,
    *,
    lot_id: str,
    batch_id: str,
    quantity_kg: int,
    price_fen_per_t: int,
    at: datetime,
    farmer_share_percent: Decimal | None = None,
) -> Lot:
    """List ``quantity_kg`` of ``batch_id`` as lot ``lot_id``; idempotent for the same lot id and terms.

    ``farmer_share_percent`` defaults to the sum of the project's registered beneficiaries' shares.
    """
    _check_lot_id(lot_id)
    check_quantity_kg(quantity_kg)
    try:
        check_amount_fen(price_fen_per_t, "price_fen_per_t")
    except MoneyError as error:
        raise InvalidLot(error.message, field=error.field) from error
    check_utc(at, InvalidLot, "at")

    existing = session.get(Lot, lot_id)
    if existing is not None:
        if (existing.batch_id, existing.listed_kg, existing.price_fen_per_t) != (
            batch_id,
            quantity_kg,
            price_fen_per_t,
        ):
            raise LotConflict(f"lot {lot_id} is already listed with different terms", field="lot_id")
        return existing
    if session.scalar(select(Lot.id).where(Lot.batch_id == batch_id)) is not None:
        raise LotConflict(f"batch {batch_id} is already listed as a lot", field="batch_id")

    batch = session.get(Batch, batch_id)
    if batch is None:
        raise InvalidLot(f"no batch {batch_id} has been issued", field="batch_id")
    if session.scalar(
        select(BufferCompensationBatch.id).where(BufferCompensationBatch.batch_id == batch_id).limit(1)
    ):
        # A loss in the project was compensated from the buffer (marketplace.reversals): its lots stopped
        # selling then, and a new lot of the same batch must not sell it again by the back door.
        raise LotConflict(
            f"batch {batch_id} was affected by a loss compensated from the buffer pool", field="batch_id"
        )
    project = session.scalar(select(Project).where(Project.code == batch.project))
    if project is None:
        raise InvalidLot(f"batch {batch_id} belongs to no registered project", field="batch_id")
    owner_account = session.scalar(
        select(Organisation.ledger_account_id).where(Organisation.id == project.owner_id)
    )
    if owner_account is None:
        raise LotConflict("the project's owner has no ledger account", field="batch_id")
    if farmer_share_percent is None:
        farmer_share_percent = session.scalar(
            select(func.coalesce(func.sum(ProjectBeneficiary.share_percent), 0)).where(
                ProjectBeneficiary.project_id == project.id
            )
        )
    share = Decimal(farmer_share_percent or 0)
    if not Decimal(0) <= share <= Decimal(100) or share != share.quantize(Decimal("0.01")):
        raise InvalidLot("must be 0 to 100 with at most two decimals", field="farmer_share_percent")

    poverty = regions.poverty_status(project.county_code)
    if poverty is None:
        poverty_source = f"not among the former poverty counties of {POVERTY_LIST}"
    else:
        poverty_source = f"{POVERTY_LIST} ({poverty.category}, {poverty.source_year}): {poverty.source}"

    # The ledger refuses (InsufficientHolding) if the owner does not hold the kilograms of this batch.
    [entry] = sequencer.append(
        session,
        [
            Transfer(
                request_id=f"lot:{lot_id}",
                from_account=owner_account,
                to_account=RETAIL,
                selection=Selection(quantity_kg=quantity_kg, batches=(batch_id,)),
                memo=f"listed as lot {lot_id}",
            )
        ],
    )
    lot = Lot(
        id=lot_id,
        batch_id=batch_id,
        project_id=project.id,
        price_fen_per_t=price_fen_per_t,
        county_code=project.county_code,
        zone=project.zone,
        vintage=batch.vintage,
        project_type=project.project_type,
        poverty_county=poverty is not None,
        poverty_source=poverty_source,
        farmer_share_percent=share,
        listed_kg=quantity_kg,
        status="listed",
        listed_at=at,
        transfer_seq=entry.seq,
    )
    session.add(lot)
    session.flush()
    return lot


def retail_kg_by_batch(session: Session, batch_ids: list[str]) -> dict[str, int]:
    """What RETAIL holds of each batch, in kilograms (0 for a batch it does not hold)."""
    return _retail_by_batch(session, batch_ids, func.sum(Holding.end_kg - Holding.start_kg + 1))


def retail_ranges_by_batch(session: Session, batch_ids: list[str]) -> dict[str, int]:
    """How many serial ranges RETAIL's holding of each batch is split into (0 for a batch it does not hold).

    A sale takes RETAIL's lowest serials of the batch, so it never needs more ranges than there are.
    """
    return _retail_by_batch(session, batch_ids, func.count())


def _retail_by_batch(session: Session, batch_ids: list[str], measure: Any) -> dict[str, int]:
    rows = session.execute(
        select(Holding.batch_id, measure)
        .where(Holding.account_id == RETAIL, Holding.batch_id.in_(batch_ids))
        .group_by(Holding.batch_id)
    ).all()
    found = {batch: int(value) for batch, value in rows}
    return {batch: found.get(batch, 0) for batch in batch_ids}


def reserved_kg_by_lot(session: Session, lot_ids: list[str]) -> dict[str, int]:
    """Kilograms held by unreleased reservations of each lot.

    A reservation past its expiry time still holds stock until the expiry job releases it: the order
    machine (marketplace.orders) accepts a payment for it until then, so freeing it earlier would oversell.
    """
    rows = session.execute(
        select(LotReservation.lot_id, func.sum(LotReservation.quantity_kg))
        .where(LotReservation.lot_id.in_(lot_ids), LotReservation.released_at.is_(None))
        .group_by(LotReservation.lot_id)
    ).all()
    reserved = {lot: int(total) for lot, total in rows}
    return {lot: reserved.get(lot, 0) for lot in lot_ids}


def available_kg_of(session: Session, lots: list[Lot]) -> dict[str, int]:
    """Available kilograms of each lot: RETAIL's holding of its batch, at most ``listed_kg``, less holds."""
    held = retail_kg_by_batch(session, [lot.batch_id for lot in lots])
    reserved = reserved_kg_by_lot(session, [lot.id for lot in lots])
    available = {}
    for lot in lots:
        stock = min(held[lot.batch_id], lot.listed_kg)
        available[lot.id] = stock - reserved[lot.id]
        assert available[lot.id] >= 0, (lot.id, stock, reserved[lot.id])
    return available


def available_kg(session: Session, lot: Lot) -> int:
    return available_kg_of(session, [lot])[lot.id]


def matching_lots(filters: LotFilters, *, include_suspended: bool = False) -> Select[Lot]:
    """The listed lots that satisfy ``filters``, by lot id (the order reservations lock them in).

    ``include_suspended`` adds the suspended ones, for catalogues; never for allocation.
    """
    filters.validate()
    query = select(Lot) if include_suspended else select(Lot).where(Lot.status == "listed")
    if filters.poverty_area_only:
        query = query.where(Lot.poverty_county.is_(True))
    if filters.zone is not None:
        query = query.where(Lot.zone == filters.zone)
    if filters.project_type is not None:
        query = query.where(Lot.project_type == filters.project_type)
    if filters.vintage_from is not None:
        query = query.where(Lot.vintage >= filters.vintage_from)
    if filters.vintage_to is not None:
        query = query.where(Lot.vintage <= filters.vintage_to)
    return query.order_by(Lot.id)


def allocation_key(lot: Sourced, prefer_poverty_area: bool) -> tuple[bool, str, str]:
    """The allocation order: poverty-area lots first (when preferred), then oldest vintage, then lot id."""
    return (prefer_poverty_area and not lot.poverty_county, lot.vintage, lot.id)


def find_lots(session: Session, filters: LotFilters) -> list[Lot]:
    """The listed lots matching ``filters``, in allocation order (see :func:`allocation_key`)."""
    lots = list(session.scalars(matching_lots(filters)))
    return sorted(lots, key=lambda lot: allocation_key(lot, filters.prefer_poverty_area))


def _check_lot_id(value: object) -> None:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_LOT_ID_CHARS
        or not IDENTIFIER.fullmatch(value)
    ):
        raise InvalidLot(
            f"must be 1-{MAX_LOT_ID_CHARS} characters of letters, digits and ._:/@-", field="lot_id"
        )
