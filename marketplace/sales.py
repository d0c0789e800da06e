"""Sales per lot and per county, the farmer share each lot owes and has paid, and the public summary.

**Sold** means an order in state ``fulfilled`` (a terminal state: the credits left the inventory). What
it sold from each lot is its last reservation's holds — the kilograms fulfilment took from each lot's batch
(``order_store.fulfil`` selects exactly the held kilograms) — and its **revenue** per lot is the order's
price split over those holds in proportion to what each hold costs at its lot's price per tonne
(:func:`marketplace.money.price_fen`, the same per-hold pricing that made the order's price). While lot
prices stay as they were when the order was priced, each lot receives exactly its hold's price; the split
by largest remainder (:func:`split_revenue`) matters only when they differ — a pre-order converted at its
agreed price (marketplace.preorders), a lot ever re-priced — and it keeps every order's parts summing to
its price exactly, so the revenue of all lots is always the sum of the fulfilled orders' prices.

The **farmer share owed** by a lot is its total revenue times ``farmer_share_percent``, computed once per
lot on the exact product and rounded **up** to the whole fen: the share is a debt to the households and
collectives of the project, so any fraction is resolved in their favour (at most one fen per lot), and
computing it on the lot's total rather than per order keeps that to one rounding, not one per order. It
never decreases, because revenue only grows (fulfilled orders are final). **Paid** is the sum of the
registry's payout records (:class:`~marketplace.sales_models.FarmerPayout`, corrections negative) and
**outstanding** is owed less paid; :func:`record_payout` refuses a payout that would make paid exceed
owed, so outstanding is never negative. A county's figures are the sums of its lots'.

Functions that read take the caller's session and never write; :func:`record_payout` writes in the
caller's unit of work and never commits. The pure functions (splitting, owing, summing) take plain values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ledger.errors import LedgerError
from ledger.orm import as_utc
from marketplace.models import Lot, LotReservation, MarketOrder
from marketplace.money import MAX_AMOUNT_FEN, MoneyError, check_amount_fen, price_fen
from marketplace.sales_models import RECIPIENT_KINDS, FarmerPayout
from offsets import regions

MAX_RECIPIENT_CHARS = 200
MAX_REFERENCE_CHARS = 100
MAX_NOTE_CHARS = 1000
MAX_ENTERED_BY_CHARS = 200
MAX_REQUEST_ID_CHARS = 300
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]*")
"""A bank transfer's reference: letters, digits and ``._:/@-`` (no spaces), as invoice references are."""
PERCENT = Decimal("0.01")


# --- errors ---------------------------------------------------------------------------------------------


class SalesError(LedgerError):
    """A request about sales or payouts that is refused; nothing has been written."""

    code = "sales-error"
    status = 422


class InvalidPayout(SalesError):
    code = "invalid-payout"


class LotNotFound(SalesError):
    code = "lot-not-found"
    status = 404


class PayoutExceedsOwed(SalesError):
    """The payout would make what was paid to the lot's farmers exceed the share its sales owe them."""

    code = "payout-exceeds-owed"
    status = 409


class PayoutConflict(SalesError):
    """The request id was already used for a different payout."""

    code = "payout-conflict"
    status = 409


# --- pure arithmetic ------------------------------------------------------------------------------------


def split_revenue(price_fen_total: int, weights_fen: Sequence[int]) -> list[int]:
    """``price_fen_total`` split in proportion to ``weights_fen``, in whole fen summing to it exactly.

    Largest remainder: each part is the floor of its exact share, and the fen left over go one each to
    the parts with the largest fractions (ties to the earlier part), so the split is deterministic. When
    the weights already sum to the total, each part is its weight.
    """
    assert price_fen_total >= 0, price_fen_total
    assert weights_fen, "nothing to split over"
    assert all(w > 0 for w in weights_fen), weights_fen
    weight_total = sum(weights_fen)
    parts = [price_fen_total * w // weight_total for w in weights_fen]
    remainders = [price_fen_total * w % weight_total for w in weights_fen]
    left_over = price_fen_total - sum(parts)
    assert 0 <= left_over < len(parts), left_over
    for index in sorted(range(len(parts)), key=lambda i: (-remainders[i], i))[:left_over]:
        parts[index] += 1
    assert sum(parts) == price_fen_total
    return parts


def farmer_share_owed_fen(revenue_fen: int, farmer_share_percent: Decimal) -> int:
    """``revenue_fen`` × ``farmer_share_percent`` / 100, rounded up to the fen (in the farmers' favour)."""
    assert revenue_fen >= 0, revenue_fen
    # The terms have at most two decimals (Numeric(5, 2), checked at listing): in hundredths of a percent the
    # product is an exact integer, and the rounding up is a ceiling division in integers only.
    hundredths = Decimal(farmer_share_percent) * 100
    assert hundredths == hundredths.to_integral_value(), farmer_share_percent
    assert 0 <= hundredths <= 10_000, farmer_share_percent
    owed = -(-revenue_fen * int(hundredths) // 10_000)
    assert 0 <= owed <= revenue_fen
    assert owed * 10_000 >= revenue_fen * int(hundredths) > (owed - 1) * 10_000 or owed == 0
    return owed


def percent_of(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole`` with two decimals (half to even); ``"0.00"`` of nothing."""
    if whole == 0:
        return "0.00"
    return str((Decimal(part * 100) / Decimal(whole)).quantize(PERCENT, rounding=ROUND_HALF_EVEN))


# --- what was sold --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldLine:
    """One fulfilled order's hold in one lot, with what that hold cost at the lot's price."""

    order_id: str
    lot_id: str
    quantity_kg: int
    weight_fen: int


@dataclass(frozen=True)
class SaleLine:
    """What one fulfilled order bought from one lot, and the part of its price that lot earned."""

    order_id: str
    lot_id: str
    quantity_kg: int
    revenue_fen: int


def sale_lines_of(order_price_fen: Mapping[str, int], held: Iterable[HeldLine]) -> list[SaleLine]:
    """Each order's price split over its holds (:func:`split_revenue`), order by order, hold by hold."""
    by_order: dict[str, list[HeldLine]] = {}
    for line in held:
        by_order.setdefault(line.order_id, []).append(line)
    sales: list[SaleLine] = []
    for order_id in sorted(by_order):
        holds = sorted(by_order[order_id], key=lambda line: line.lot_id)
        parts = split_revenue(order_price_fen[order_id], [line.weight_fen for line in holds])
        sales.extend(
            SaleLine(order_id, line.lot_id, line.quantity_kg, part)
            for line, part in zip(holds, parts, strict=True)
        )
    return sales


@dataclass(frozen=True)
class LotFacts:
    """What the sales figures need to know about a lot (its listing's facts)."""

    lot_id: str
    project_id: int
    county_code: str
    zone: str
    poverty_county: bool
    farmer_share_percent: Decimal
    price_fen_per_t: int
    listed_kg: int
    status: str


@dataclass(frozen=True)
class LotSales:
    lot: LotFacts
    orders: int
    sold_kg: int
    revenue_fen: int
    farmer_share_owed_fen: int
    farmer_share_paid_fen: int

    @property
    def farmer_share_outstanding_fen(self) -> int:
        return self.farmer_share_owed_fen - self.farmer_share_paid_fen


@dataclass(frozen=True)
class CountySales:
    county_code: str
    zone: str
    poverty_county: bool
    lots: int
    sold_kg: int
    revenue_fen: int
    farmer_share_owed_fen: int
    farmer_share_paid_fen: int

    @property
    def farmer_share_outstanding_fen(self) -> int:
        return self.farmer_share_owed_fen - self.farmer_share_paid_fen


def summarise_lots(
    lots: Sequence[LotFacts], sales: Iterable[SaleLine], paid_fen_by_lot: Mapping[str, int]
) -> list[LotSales]:
    """Per lot, in lot-id order: orders, kilograms, revenue, and the farmer share owed and paid. Pure."""
    sold: dict[str, list[SaleLine]] = {lot.lot_id: [] for lot in lots}
    for line in sales:
        sold[line.lot_id].append(line)
    result = []
    for lot in sorted(lots, key=lambda lot: lot.lot_id):
        lines = sold[lot.lot_id]
        revenue_fen = sum(line.revenue_fen for line in lines)
        result.append(
            LotSales(
                lot=lot,
                orders=len({line.order_id for line in lines}),
                sold_kg=sum(line.quantity_kg for line in lines),
                revenue_fen=revenue_fen,
                farmer_share_owed_fen=farmer_share_owed_fen(revenue_fen, lot.farmer_share_percent),
                farmer_share_paid_fen=paid_fen_by_lot.get(lot.lot_id, 0),
            )
        )
    return result


def summarise_counties(lot_sales: Iterable[LotSales]) -> list[CountySales]:
    """Per county, in county-code order: the sums of its lots' figures. Pure."""
    by_county: dict[str, list[LotSales]] = {}
    for item in lot_sales:
        by_county.setdefault(item.lot.county_code, []).append(item)
    return [
        CountySales(
            county_code=code,
            zone=items[0].lot.zone,
            # A lot copies its county's status at listing time; the county counts as a poverty county if
            # any of its lots was listed as one (the list changes rarely, and never back).
            poverty_county=any(item.lot.poverty_county for item in items),
            lots=len(items),
            sold_kg=sum(item.sold_kg for item in items),
            revenue_fen=sum(item.revenue_fen for item in items),
            farmer_share_owed_fen=sum(item.farmer_share_owed_fen for item in items),
            farmer_share_paid_fen=sum(item.farmer_share_paid_fen for item in items),
        )
        for code, items in sorted(by_county.items())
    ]


@dataclass(frozen=True)
class SalesFigures:
    """Sold kilograms and revenue, with the part from poverty-area lots."""

    sold_kg: int = 0
    revenue_fen: int = 0
    poverty_area_kg: int = 0
    poverty_area_revenue_fen: int = 0

    def plus(self, item: LotSales) -> SalesFigures:
        poverty = item.lot.poverty_county
        return SalesFigures(
            self.sold_kg + item.sold_kg,
            self.revenue_fen + item.revenue_fen,
            self.poverty_area_kg + (item.sold_kg if poverty else 0),
            self.poverty_area_revenue_fen + (item.revenue_fen if poverty else 0),
        )

    @property
    def poverty_area_kg_percent(self) -> str:
        return percent_of(self.poverty_area_kg, self.sold_kg)

    @property
    def poverty_area_revenue_percent(self) -> str:
        return percent_of(self.poverty_area_revenue_fen, self.revenue_fen)


@dataclass(frozen=True)
class PovertySummary:
    """The public summary: how much of all sales came from poverty-area lots, in total and by zone."""

    total: SalesFigures
    by_zone: dict[str, SalesFigures] = field(default_factory=dict)
    farmer_share_owed_fen: int = 0
    farmer_share_paid_fen: int = 0


def summarise_poverty(lot_sales: Iterable[LotSales]) -> PovertySummary:
    """Totals and every development zone (zeros where nothing was sold); no buyer appears. Pure."""
    total = SalesFigures()
    by_zone = {key: SalesFigures() for key in regions.ZONE_KEYS}
    owed = paid = 0
    for item in lot_sales:
        total = total.plus(item)
        by_zone[item.lot.zone] = by_zone[item.lot.zone].plus(item)  # every lot is in one of the five
        owed += item.farmer_share_owed_fen
        paid += item.farmer_share_paid_fen
    assert sum(figures.sold_kg for figures in by_zone.values()) == total.sold_kg
    return PovertySummary(total, by_zone, owed, paid)


# --- reading them from the database ---------------------------------------------------------------------


def held_lines(session: Session, *, lot_id: str | None = None) -> tuple[dict[str, int], list[HeldLine]]:
    """Every fulfilled order's price and its last reservation's holds (only orders touching ``lot_id``).

    An order re-reserved after a late payment has several reservations; fulfilment took the latest.
    """
    latest = (
        select(LotReservation.order_id, func.max(LotReservation.reserved_at).label("reserved_at"))
        .join(MarketOrder, MarketOrder.id == LotReservation.order_id)
        .where(MarketOrder.state == "fulfilled")
        .group_by(LotReservation.order_id)
    )
    if lot_id is not None:
        touching = select(LotReservation.order_id).where(LotReservation.lot_id == lot_id)
        latest = latest.where(LotReservation.order_id.in_(touching))
    latest_subquery = latest.subquery()
    rows = session.execute(
        select(
            LotReservation.order_id,
            LotReservation.lot_id,
            LotReservation.quantity_kg,
            MarketOrder.price_fen,
            MarketOrder.quantity_kg,
            Lot.price_fen_per_t,
        )
        .join(
            latest_subquery,
            and_(
                latest_subquery.c.order_id == LotReservation.order_id,
                latest_subquery.c.reserved_at == LotReservation.reserved_at,
            ),
        )
        .join(MarketOrder, MarketOrder.id == LotReservation.order_id)
        .join(Lot, Lot.id == LotReservation.lot_id)
    ).all()
    prices: dict[str, int] = {}
    kg_of_order: dict[str, tuple[int, int]] = {}
    lines = []
    for order_id, held_lot, quantity_kg, order_price_fen, order_kg, price_fen_per_t in rows:
        prices[order_id] = order_price_fen
        held, expected = kg_of_order.get(order_id, (0, order_kg))
        kg_of_order[order_id] = (held + quantity_kg, expected)
        lines.append(HeldLine(order_id, held_lot, quantity_kg, price_fen(quantity_kg, price_fen_per_t)))
    assert all(held == expected for held, expected in kg_of_order.values()), "holds differ from orders"
    return prices, lines


def lot_facts(lot: Lot) -> LotFacts:
    return LotFacts(
        lot_id=lot.id,
        project_id=lot.project_id,
        county_code=lot.county_code,
        zone=lot.zone,
        poverty_county=lot.poverty_county,
        farmer_share_percent=Decimal(lot.farmer_share_percent),
        price_fen_per_t=lot.price_fen_per_t,
        listed_kg=lot.listed_kg,
        status=lot.status,
    )


def paid_fen_by_lot(session: Session, lot_ids: Sequence[str] | None = None) -> dict[str, int]:
    query = select(FarmerPayout.lot_id, func.sum(FarmerPayout.amount_fen)).group_by(FarmerPayout.lot_id)
    if lot_ids is not None:
        query = query.where(FarmerPayout.lot_id.in_(list(lot_ids)))
    return {lot_id: int(total) for lot_id, total in session.execute(query)}


def lot_sales(session: Session) -> list[LotSales]:
    """Every lot's sales and farmer share, by lot id (lots not yet sold from included, with zeros)."""
    lots = [lot_facts(lot) for lot in session.scalars(select(Lot).order_by(Lot.id))]
    prices, held = held_lines(session)
    return summarise_lots(lots, sale_lines_of(prices, held), paid_fen_by_lot(session))


def sales_of_lot(session: Session, lot_id: str) -> LotSales:
    lot = session.get(Lot, lot_id) if isinstance(lot_id, str) and len(lot_id) <= 64 else None
    if lot is None:
        raise LotNotFound(f"no lot {lot_id}", field="lot_id")
    prices, held = held_lines(session, lot_id=lot_id)
    sales = [line for line in sale_lines_of(prices, held) if line.lot_id == lot_id]
    [result] = summarise_lots([lot_facts(lot)], sales, paid_fen_by_lot(session, [lot_id]))
    return result


def county_sales(session: Session) -> list[CountySales]:
    return summarise_counties(lot_sales(session))


def poverty_summary(session: Session) -> PovertySummary:
    return summarise_poverty(lot_sales(session))


def county_name(code: str) -> str | None:
    """The county's name from the region data, or ``None`` for a code the data does not know."""
    division = regions.regions().divisions.get(code)
    return division.name if division is not None else None


# --- payouts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPayout:
    """A payout as the registry states it; with ``corrects_payout_id``, a correction of that payout.

    ``amount_fen`` is always positive here: for a correction it is how much of the corrected payout is
    taken back, and the record stores it negative.
    """

    amount_fen: int
    paid_at: datetime
    recipient_kind: str
    recipient: str
    reference: str
    note: str = ""
    corrects_payout_id: int | None = None

    def validate(self, *, now: datetime) -> None:
        try:
            check_amount_fen(self.amount_fen, "amount_fen")
        except MoneyError as error:
            raise InvalidPayout(error.message, field=error.field) from error
        if not isinstance(self.paid_at, datetime) or self.paid_at.utcoffset() != timedelta(0):
            raise InvalidPayout("must be a UTC time with its time zone", field="paid_at")
        if self.paid_at > now:
            raise InvalidPayout("a payout cannot be recorded before it was made", field="paid_at")
        if self.recipient_kind not in RECIPIENT_KINDS:
            raise InvalidPayout(f"must be one of {', '.join(RECIPIENT_KINDS)}", field="recipient_kind")
        _check_text(self.recipient, "recipient", MAX_RECIPIENT_CHARS, required=True)
        _check_text(self.reference, "reference", MAX_REFERENCE_CHARS, required=True)
        if not REFERENCE.fullmatch(self.reference):
            raise InvalidPayout(
                "letters, digits and ._:/@- only, starting with a letter or digit", field="reference"
            )
        _check_text(self.note, "note", MAX_NOTE_CHARS, required=False)


def record_payout(
    session: Session,
    lot_id: str,
    payout: NewPayout,
    *,
    request_id: str,
    entered_by: str,
    now: datetime,
) -> FarmerPayout:
    """Record a payout (or a correction) for ``lot_id``; idempotent on ``request_id``.

    Refused with :class:`PayoutExceedsOwed` if the lot would have been paid more than its sales owe its
    farmers; a correction may take back at most what is left of the payout it corrects. The lot's row is
    locked first (PostgreSQL ``FOR UPDATE``; SQLite's writing unit of work holds the database's write lock),
    so two payouts for one lot are checked one after the other, never both against the same total.
    """
    assert 1 <= len(request_id) <= MAX_REQUEST_ID_CHARS, request_id
    assert 1 <= len(entered_by) <= MAX_ENTERED_BY_CHARS, entered_by
    assert now.utcoffset() == timedelta(0), now
    payout.validate(now=now)
    lot = None
    if isinstance(lot_id, str) and len(lot_id) <= 64:
        lot = session.scalar(
            select(Lot).where(Lot.id == lot_id).with_for_update().execution_options(populate_existing=True)
        )
    if lot is None:
        raise LotNotFound(f"no lot {lot_id}", field="lot_id")

    existing = session.scalar(select(FarmerPayout).where(FarmerPayout.request_id == request_id))
    if existing is not None:
        if _terms(existing) != _terms_of(lot_id, payout):
            raise PayoutConflict(
                "this request id already recorded a different payout; use a new one", field="request_id"
            )
        return existing

    amount_fen = payout.amount_fen
    if payout.corrects_payout_id is not None:
        _check_correction(session, lot_id, payout)
        amount_fen = -payout.amount_fen
    else:
        sales = sales_of_lot(session, lot_id)
        if sales.farmer_share_paid_fen + amount_fen > sales.farmer_share_owed_fen:
            raise PayoutExceedsOwed(
                f"lot {lot_id}'s sales owe its farmers {sales.farmer_share_owed_fen} fen "
                f"({lot.farmer_share_percent}% of {sales.revenue_fen} fen) and {sales.farmer_share_paid_fen} "
                f"fen has been paid: at most {sales.farmer_share_outstanding_fen} fen more can be recorded",
                field="amount_fen",
            )
    row = FarmerPayout(
        lot_id=lot_id,
        amount_fen=amount_fen,
        paid_at=payout.paid_at,
        recipient_kind=payout.recipient_kind,
        recipient=payout.recipient.strip(),
        reference=payout.reference,
        note=payout.note.strip(),
        entered_by=entered_by,
        request_id=request_id,
        corrects_payout_id=payout.corrects_payout_id,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    paid = paid_fen_by_lot(session, [lot_id]).get(lot_id, 0)
    assert 0 <= paid <= MAX_AMOUNT_FEN, paid
    return row


def payouts_of(session: Session, lot_id: str) -> list[FarmerPayout]:
    """The lot's payouts and corrections in the order they were recorded (:class:`LotNotFound` if none)."""
    if not isinstance(lot_id, str) or len(lot_id) > 64 or session.get(Lot, lot_id) is None:
        raise LotNotFound(f"no lot {lot_id}", field="lot_id")
    return list(
        session.scalars(select(FarmerPayout).where(FarmerPayout.lot_id == lot_id).order_by(FarmerPayout.id))
    )


def _check_correction(session: Session, lot_id: str, payout: NewPayout) -> None:
    corrected = session.get(FarmerPayout, payout.corrects_payout_id)
    if corrected is None or corrected.lot_id != lot_id:
        raise InvalidPayout(
            f"lot {lot_id} has no payout {payout.corrects_payout_id}", field="corrects_payout_id"
        )
    if corrected.corrects_payout_id is not None:
        raise InvalidPayout(
            "a correction corrects a payout, not another correction", field="corrects_payout_id"
        )
    taken_back = -(
        session.scalar(
            select(func.coalesce(func.sum(FarmerPayout.amount_fen), 0)).where(
                FarmerPayout.corrects_payout_id == corrected.id
            )
        )
        or 0
    )
    remaining = corrected.amount_fen - taken_back
    if payout.amount_fen > remaining:
        raise InvalidPayout(
            f"payout {corrected.id} was {corrected.amount_fen} fen and {taken_back} fen of it has been "
            f"corrected already: at most {remaining} fen can be taken back",
            field="amount_fen",
        )


def _terms(row: FarmerPayout) -> tuple[object, ...]:
    """A stored payout's terms, as :func:`_terms_of` states a request's (corrections stored negative)."""
    amount = -row.amount_fen if row.corrects_payout_id is not None else row.amount_fen
    return (
        row.lot_id,
        amount,
        as_utc(row.paid_at),
        row.recipient_kind,
        row.recipient,
        row.reference,
        row.note,
        row.corrects_payout_id,
    )


def _terms_of(lot_id: str, payout: NewPayout) -> tuple[object, ...]:
    return (
        lot_id,
        payout.amount_fen,
        as_utc(payout.paid_at),
        payout.recipient_kind,
        payout.recipient.strip(),
        payout.reference,
        payout.note.strip(),
        payout.corrects_payout_id,
    )


def _check_text(value: object, field_name: str, max_chars: int, *, required: bool) -> None:
    if not isinstance(value, str):
        raise InvalidPayout("must be text", field=field_name)
    text = value.strip()
    if required and not text:
        raise InvalidPayout("must not be empty", field=field_name)
    if len(text) > max_chars:
        raise InvalidPayout(f"must be at most {max_chars} characters", field=field_name)
    if any(ord(char) < 32 and char not in "\n" for char in text):
        raise InvalidPayout("must not contain control characters", field=field_name)
