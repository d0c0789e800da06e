"""The tables the CSV exports write: lots, orders, retirements, certificates and a statement, as rows.

Each function returns a :class:`Table` (a header and rows of plain cells) for
:mod:`marketplace.csv_export` to write; nothing here knows about HTTP. What each table may show is decided
here, once:

- **lots**: the public facts of every lot (sourcing, terms, price, stock).
- **orders**: every order for the registry, one organisation's own orders otherwise (``organisation_id``).
- **retirements** and **certificates** are public, so they are pseudonymised. The beneficiary's name is
  shown only when the ledger entry made it public; a private one is ``匿名`` (its entry body holds only a
  salted commitment). Events and enterprises are public: the buying or retiring organisation's name is
  shown for them whatever the beneficiary's setting, but never an individual buyer's display name. A
  certificate's id is its holder's bearer secret (it opens the document with the private name), so it is
  shown only for certificates whose beneficiary is public; an order's id, which for an individual is the
  same kind of secret, never appears. Every other column comes from the entry body, which is public
  already (``GET /ledger/entries/<seq>``).

Functions take the caller's session and never write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from ledger.entries import parse_body
from ledger.models import Batch, Entry
from ledger.orm import as_utc
from marketplace.certificate_document import PURPOSES
from marketplace.csv_export import Cell
from marketplace.lots import available_kg_of
from marketplace.models import Certificate, Lot, LotReservation, MarketOrder, MarketOrderEvent
from marketplace.sales import county_name
from marketplace.statements import Statement
from offsets.errors import InvalidInput
from offsets.models import Organisation, Project

ANONYMOUS = "匿名"
MAX_EXPORT_ROWS = 100_000
"""The most rows one page of an export holds (retirements and certificates page by ledger seq, orders by
placing time)."""


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    next_page: dict[str, int | str] | None = None
    """For a paged export: the query that asks for the next page (``None`` on the last page)."""


# --- lots -----------------------------------------------------------------------------------------------

LOT_HEADER = (
    "lot_id",
    "project_code",
    "project_name",
    "project_type",
    "county_code",
    "county_name",
    "zone",
    "vintage",
    "poverty_county",
    "poverty_source",
    "farmer_share_percent",
    "price_fen_per_t",
    "listed_kg",
    "available_kg",
    "status",
    "listed_at",
)


def lots_table(session: Session) -> Table:
    rows = session.execute(
        select(Lot, Project.code, Project.name).join(Project, Project.id == Lot.project_id).order_by(Lot.id)
    ).all()
    available = available_kg_of(session, [lot for lot, _, _ in rows])
    return Table(
        LOT_HEADER,
        [
            (
                lot.id,
                code,
                name,
                lot.project_type,
                lot.county_code,
                county_name(lot.county_code),
                lot.zone,
                lot.vintage,
                lot.poverty_county,
                lot.poverty_source,
                lot.farmer_share_percent,
                lot.price_fen_per_t,
                lot.listed_kg,
                available[lot.id],
                lot.status,
                as_utc(lot.listed_at),
            )
            for lot, code, name in rows
        ],
    )


# --- orders ---------------------------------------------------------------------------------------------

ORDER_HEADER = (
    "order_id",
    "kind",
    "state",
    "placed_at",
    "buyer_organisation_id",
    "buyer_display_name",
    "quantity_kg",
    "price_fen",
    "paid_fen",
    "refunded_fen",
    "beneficiary_name",
    "beneficiary_public",
    "reason",
    "details",
    "lots",
    "fulfilment_seq",
    "certificate_id",
    "quote_id",
    "event_id",
)


def orders_table(
    session: Session, *, organisation_id: int | None, after: str | None = None, limit: int = MAX_EXPORT_ROWS
) -> Table:
    """Every order (``organisation_id`` None: the registry) or that organisation's own, by placing time,
    a page of ``limit`` at a time from just after the order ``after`` (one the caller may see)."""
    query = select(MarketOrder).order_by(MarketOrder.placed_at, MarketOrder.id).limit(limit + 1)
    if organisation_id is not None:
        query = query.where(MarketOrder.buyer_organisation_id == organisation_id)
    if after is not None:
        previous = session.get(MarketOrder, after)
        if previous is None or (
            organisation_id is not None and previous.buyer_organisation_id != organisation_id
        ):
            raise InvalidInput(f"no order {after} to continue after", field="after")
        query = query.where(
            tuple_(MarketOrder.placed_at, MarketOrder.id) > tuple_(previous.placed_at, previous.id)
        )
    found = list(session.scalars(query))
    orders = found[:limit]
    ids = [order.id for order in orders]
    money = {
        order_id: (int(paid), int(refunded))
        for order_id, paid, refunded in session.execute(
            select(
                MarketOrderEvent.order_id,
                func.sum(MarketOrderEvent.paid_fen),
                func.sum(MarketOrderEvent.refunded_fen),
            )
            .where(MarketOrderEvent.order_id.in_(ids))
            .group_by(MarketOrderEvent.order_id)
        )
    }
    certificates = dict(
        session.execute(
            select(Certificate.order_id, Certificate.id).where(Certificate.order_id.in_(ids))
        ).all()
    )
    holds = _latest_holds(session, ids)
    return Table(
        ORDER_HEADER,
        [
            (
                order.id,
                order.kind,
                order.state,
                as_utc(order.placed_at),
                order.buyer_organisation_id,
                order.buyer_display_name,
                order.quantity_kg,
                order.price_fen,
                *money.get(order.id, (0, 0)),
                order.beneficiary_name,
                order.beneficiary_public,
                order.reason,
                order.details,
                "; ".join(f"{lot_id}: {kg} kg" for lot_id, kg in holds.get(order.id, ())),
                order.fulfilment_seq,
                certificates.get(order.id),
                order.quote_id,
                order.event_id,
            )
            for order in orders
        ],
        next_page={"after": orders[-1].id} if len(found) > limit else None,
    )


def _latest_holds(session: Session, order_ids: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """Each order's last reservation's holds (the one fulfilment took, or the one still held)."""
    latest: dict[str, datetime] = {}
    holds: dict[str, list[tuple[str, int]]] = {}
    rows = session.execute(
        select(
            LotReservation.order_id,
            LotReservation.reserved_at,
            LotReservation.lot_id,
            LotReservation.quantity_kg,
        )
        .where(LotReservation.order_id.in_(list(order_ids)))
        .order_by(LotReservation.order_id, LotReservation.reserved_at, LotReservation.lot_id)
    )
    for order_id, reserved_at, lot_id, quantity_kg in rows:
        if latest.get(order_id) != reserved_at:
            latest[order_id] = reserved_at
            holds[order_id] = []
        holds[order_id].append((lot_id, quantity_kg))
    return holds


# --- retirements and certificates (public, pseudonymised) -----------------------------------------------

RETIREMENT_HEADER = (
    "seq",
    "retired_at",
    "kind",
    "organisation",
    "beneficiary",
    "reason",
    "purpose_zh",
    "purpose_en",
    "details",
    "quantity_kg",
    "serials",
    "projects",
    "counties",
    "zones",
    "poverty_area_kg",
    "certificate_id",
)
CERTIFICATE_HEADER = ("certificate_id", "created_at", *RETIREMENT_HEADER[:-1])


@dataclass(frozen=True)
class _Retirement:
    seq: int
    time: str
    data: dict[str, Any]


def retirements_table(session: Session, *, after_seq: int = -1, limit: int = MAX_EXPORT_ROWS) -> Table:
    """The ``retire`` entries of the ledger after ``after_seq``, by ``seq``, at most ``limit`` of them,
    pseudonymised (see the module docstring)."""
    found = session.execute(
        select(Entry.seq, Entry.body)
        .where(Entry.kind == "retire", Entry.seq > after_seq)
        .order_by(Entry.seq)
        .limit(limit + 1)
    ).all()
    retirements = [_Retirement(seq, *_time_and_data(body)) for seq, body in found[:limit]]
    context = _PublicContext.load(session, retirements)
    return Table(
        RETIREMENT_HEADER,
        [(*context.row(item), context.public_certificate_id(item)) for item in retirements],
        next_page={"after_seq": retirements[-1].seq} if len(found) > limit else None,
    )


def certificates_table(session: Session, *, after_seq: int = -1, limit: int = MAX_EXPORT_ROWS) -> Table:
    """The certificates of the retirements after ledger ``after_seq``, by that seq (one certificate per
    retirement), at most ``limit``, pseudonymised: no id for a private beneficiary's certificate."""
    found = session.execute(
        select(Certificate.id, Certificate.created_at, Entry.seq, Entry.body)
        .join(Entry, Entry.seq == Certificate.seq)
        .where(Certificate.seq > after_seq)
        .order_by(Certificate.seq)
        .limit(limit + 1)
    ).all()
    rows = found[:limit]
    retirements = [_Retirement(seq, *_time_and_data(body)) for _, _, seq, body in rows]
    context = _PublicContext.load(session, retirements)
    return Table(
        CERTIFICATE_HEADER,
        [
            (context.public_certificate_id(item), as_utc(created_at), *context.row(item))
            for (_, created_at, _, _), item in zip(rows, retirements, strict=True)
        ],
        next_page={"after_seq": retirements[-1].seq} if len(found) > limit else None,
    )


@dataclass(frozen=True)
class _Sourcing:
    project_code: str
    county_code: str | None
    zone: str | None
    poverty_county: bool


@dataclass(frozen=True)
class _PublicContext:
    """What the public rows of some retirements need, read in a few queries rather than one per row."""

    certificates: dict[int, str]
    order_kind_and_buyer: dict[int, tuple[str, str]]
    """seq → (order kind, buyer organisation name) for retirements made by orders of organisations."""
    compliance_organisation: dict[int, str]
    sourcing: dict[str, _Sourcing]

    @classmethod
    def load(cls, session: Session, retirements: Sequence[_Retirement]) -> _PublicContext:
        seqs = [item.seq for item in retirements]
        certificates: dict[int, str] = {}
        compliance: dict[int, str] = {}
        for seq, certificate_id, organisation_name in session.execute(
            select(Certificate.seq, Certificate.id, Organisation.name)
            .outerjoin(Organisation, Organisation.id == Certificate.organisation_id)
            .where(Certificate.seq.in_(seqs))
        ):
            certificates[seq] = certificate_id
            if organisation_name is not None:
                compliance[seq] = organisation_name
        orders: dict[int, tuple[str, str]] = {}
        for fulfilment_seq, kind, buyer_name in session.execute(
            select(MarketOrder.fulfilment_seq, MarketOrder.kind, Organisation.name)
            .outerjoin(Organisation, Organisation.id == MarketOrder.buyer_organisation_id)
            .where(MarketOrder.fulfilment_seq.in_(seqs))
        ):
            assert fulfilment_seq is not None
            orders[fulfilment_seq] = (kind, buyer_name or "")
        batch_ids = sorted(
            {item["batch"] for retirement in retirements for item in retirement.data["ranges"]}
        )
        return cls(certificates, orders, compliance, _sourcing(session, batch_ids))

    def row(self, item: _Retirement) -> tuple[Cell, ...]:
        data = item.data
        kind, organisation = self._kind_and_organisation(item.seq)
        public = bool(data["beneficiary"]["public"])
        kg_by_batch: dict[str, int] = {}
        for part in data["ranges"]:
            kg_by_batch[part["batch"]] = kg_by_batch.get(part["batch"], 0) + part["end"] - part["start"] + 1
        sourcing = [self.sourcing[batch] for batch in sorted(kg_by_batch)]
        purpose_zh, purpose_en = PURPOSES.get(data["reason"], (data["reason"], data["reason"]))
        return (
            item.seq,
            item.time,
            kind,
            organisation,
            data["beneficiary"]["name"] if public else ANONYMOUS,
            data["reason"],
            purpose_zh,
            purpose_en,
            data["details"],
            data["quantity_kg"],
            " ".join(part["serial"] for part in data["ranges"]),
            " ".join(sorted({s.project_code for s in sourcing})),
            " ".join(sorted({s.county_code for s in sourcing if s.county_code})),
            " ".join(sorted({s.zone for s in sourcing if s.zone})),
            sum(kg for batch, kg in kg_by_batch.items() if self.sourcing[batch].poverty_county),
        )

    def public_certificate_id(self, item: _Retirement) -> str | None:
        return self.certificates.get(item.seq) if item.data["beneficiary"]["public"] else None

    def _kind_and_organisation(self, seq: int) -> tuple[str, str]:
        """Who retired: an individual (no name), an event or enterprise order, or a compliance retirement."""
        if seq in self.compliance_organisation:
            return "compliance", self.compliance_organisation[seq]
        if seq in self.order_kind_and_buyer:
            kind, organisation = self.order_kind_and_buyer[seq]
            return kind, organisation if kind != "individual" else ""
        return "other", ""


def _sourcing(session: Session, batch_ids: list[str]) -> dict[str, _Sourcing]:
    """Each batch's sourcing: from the lot it was listed as, else from its project (as certificates do)."""
    lots = {lot.batch_id: lot for lot in session.scalars(select(Lot).where(Lot.batch_id.in_(batch_ids)))}
    project_of_batch = dict(
        session.execute(select(Batch.id, Batch.project).where(Batch.id.in_(batch_ids))).all()
    )
    projects = {
        project.code: project
        for project in session.scalars(
            select(Project).where(Project.code.in_(set(project_of_batch.values())))
        )
    }
    sourcing = {}
    for batch_id in batch_ids:
        code = project_of_batch.get(batch_id, "")
        lot = lots.get(batch_id)
        project = projects.get(code)
        if lot is not None:
            sourcing[batch_id] = _Sourcing(code, lot.county_code, lot.zone, lot.poverty_county)
        elif project is not None:
            # Never listed: the project's county, without a listing-time poverty status to copy.
            sourcing[batch_id] = _Sourcing(code, project.county_code, project.zone, poverty_county=False)
        else:
            sourcing[batch_id] = _Sourcing(code, None, None, poverty_county=False)
    return sourcing


def _time_and_data(body: str) -> tuple[str, dict[str, Any]]:
    parsed = parse_body(body.encode("utf-8"))
    return parsed.time, parsed.data


# --- an organisation's statement ------------------------------------------------------------------------

STATEMENT_HEADER = (
    "section",
    "seq",
    "time",
    "movement",
    "quantity_kg",
    "batch_id",
    "project_code",
    "project_name",
    "vintage",
    "serials",
    "counterparty",
    "reason",
    "details",
    "order_id",
    "certificate_id",
)


def statement_table(statement: Statement) -> Table:
    """The statement as one table: a ``holding`` row per held range, then a ``history`` row per entry."""
    rows: list[tuple[Cell, ...]] = []
    for batch in statement.holdings:
        for held in batch.ranges:
            rows.append(
                (
                    "holding",
                    None,
                    None,
                    "held",
                    held.quantity_kg,
                    batch.batch_id,
                    batch.project_code,
                    batch.project_name,
                    batch.vintage,
                    held.serial,
                    None,
                    None,
                    None,
                    None,
                    None,
                )
            )
    for line in statement.history:
        rows.append(
            (
                "history",
                line.seq,
                line.time,
                line.movement,
                line.quantity_kg,
                None,
                None,
                None,
                None,
                " ".join(line.serials),
                line.counterparty,
                line.reason,
                line.details,
                line.order_id,
                line.certificate_id,
            )
        )
    return Table(STATEMENT_HEADER, rows)
