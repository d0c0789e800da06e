"""Sales per lot and county, farmer-share payouts, and the public poverty-area summary.

- ``GET /sales/lots`` and ``GET /sales/counties`` (the registry's keys): sold kilograms, revenue and the
  farmer share owed, paid and outstanding (marketplace.sales); JSON, or CSV with ``?format=csv`` or
  ``Accept: text/csv`` (marketplace.csv_export: spreadsheet-safe, UTF-8 with BOM).
- ``POST /lots/<lot_id>/payouts`` (``registry_admin``): record a payout to the lot's households or
  collectives, or with ``corrects_payout_id`` a correction of one. An ``Idempotency-Key`` is required: a
  payout stands for money that left a bank account, and a retried request must not record it twice. A
  payout that would make paid exceed owed is a 409 naming ``amount_fen``.
- ``GET /lots/<lot_id>/payouts`` (the registry's keys): the lot's payouts, corrections and totals.
- ``GET /public/poverty-summary`` (no key): total sold and how much came from poverty-area lots, by zone —
  aggregates only, no buyer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from flask import Response, request, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from api.auth import require_role
from api.blueprint import api_blueprint as bp
from api.context import database
from api.idempotency import HEADER, Created, InvalidIdempotencyKey, run_creating
from api.openapi import document
from api.responses import csv_response, json_response
from api.schemas_offsets import Kilograms, Strict, load_body
from ledger.orm import as_utc
from ledger.replica_reads import read_published
from marketplace import sales
from marketplace.export_tables import Table
from marketplace.money import KG_PER_T, MAX_AMOUNT_FEN
from marketplace.sales_models import RECIPIENT_KINDS, FarmerPayout
from offsets import regions
from offsets.lifecycle import Role

REGISTRY = (Role.REGISTRY_ADMIN, Role.REVIEWER)
REGISTRY_ROLE_NAMES = tuple(role.value for role in REGISTRY)
DECIMAL_TEXT = frozenset({"farmer_share_percent", "sold_t"})
"""Fields JSON carries as exact decimal text and CSV writes as numbers."""
SalesRow = TypeVar("SalesRow", sales.LotSales, sales.CountySales)


class SalesQuerySchema(Strict):
    format = fields.String(load_default=None, validate=validate.OneOf(["json", "csv"]))


class PayoutCreateSchema(Strict):
    amount_fen = Kilograms(
        required=True,
        validate=validate.Range(min=1, max=MAX_AMOUNT_FEN),
        metadata={"description": "fen paid; for a correction, fen of the corrected payout taken back"},
    )
    paid_at = fields.AwareDateTime(required=True, metadata={"description": "when the transfer was made"})
    recipient_kind = fields.String(required=True, validate=validate.OneOf(RECIPIENT_KINDS))
    recipient = fields.String(required=True, validate=validate.Length(min=1, max=sales.MAX_RECIPIENT_CHARS))
    reference = fields.String(required=True, validate=validate.Length(min=1, max=sales.MAX_REFERENCE_CHARS))
    note = fields.String(load_default="", validate=validate.Length(max=sales.MAX_NOTE_CHARS))
    corrects_payout_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))


class PayoutSchema(Schema):
    id = fields.Integer()
    lot_id = fields.String()
    amount_fen = fields.Integer()
    paid_at = fields.String()
    recipient_kind = fields.String()
    recipient = fields.String()
    reference = fields.String()
    note = fields.String()
    entered_by = fields.String()
    corrects_payout_id = fields.Integer(allow_none=True)
    recorded_at = fields.String()


class LotPayoutsSchema(Schema):
    lot_id = fields.String()
    farmer_share_percent = fields.String()
    revenue_fen = fields.Integer()
    farmer_share_owed_fen = fields.Integer()
    farmer_share_paid_fen = fields.Integer()
    farmer_share_outstanding_fen = fields.Integer()
    payouts = fields.List(fields.Nested(PayoutSchema))


class LotSalesSchema(Schema):
    lot_id = fields.String()
    project_id = fields.Integer()
    county_code = fields.String()
    county_name = fields.String(allow_none=True)
    zone = fields.String()
    poverty_county = fields.Boolean()
    status = fields.String()
    price_fen_per_t = fields.Integer()
    farmer_share_percent = fields.String()
    orders = fields.Integer()
    sold_kg = fields.Integer()
    sold_t = fields.String()
    revenue_fen = fields.Integer()
    farmer_share_owed_fen = fields.Integer()
    farmer_share_paid_fen = fields.Integer()
    farmer_share_outstanding_fen = fields.Integer()


class CountySalesSchema(Schema):
    county_code = fields.String()
    county_name = fields.String(allow_none=True)
    zone = fields.String()
    poverty_county = fields.Boolean()
    lots = fields.Integer()
    sold_kg = fields.Integer()
    sold_t = fields.String()
    revenue_fen = fields.Integer()
    farmer_share_owed_fen = fields.Integer()
    farmer_share_paid_fen = fields.Integer()
    farmer_share_outstanding_fen = fields.Integer()


PERCENT_TEXT = "percent with two decimals (half to even) as text; 0.00 when nothing was sold"


class SalesTotalsSchema(Schema):
    sold_kg = fields.Integer()
    sold_t = fields.String()
    revenue_fen = fields.Integer()
    farmer_share_owed_fen = fields.Integer()
    farmer_share_paid_fen = fields.Integer()
    farmer_share_outstanding_fen = fields.Integer()


class LotSalesListSchema(Schema):
    items = fields.List(fields.Nested(LotSalesSchema))
    totals = fields.Nested(SalesTotalsSchema)
    rounding = fields.String()


class CountySalesListSchema(Schema):
    items = fields.List(fields.Nested(CountySalesSchema))
    totals = fields.Nested(SalesTotalsSchema)
    rounding = fields.String()


class SalesFiguresSchema(Schema):
    sold_kg = fields.Integer()
    sold_t = fields.String()
    revenue_fen = fields.Integer()
    poverty_area_kg = fields.Integer(metadata={"description": "sold from lots in former poverty counties"})
    poverty_area_revenue_fen = fields.Integer()
    poverty_area_kg_percent = fields.String(metadata={"description": PERCENT_TEXT})
    poverty_area_revenue_percent = fields.String(metadata={"description": PERCENT_TEXT})


class ZoneSalesFiguresSchema(SalesFiguresSchema):
    zone = fields.String(metadata={"description": "the zone's key, as in GET /regions"})
    zh = fields.String()
    en = fields.String()


class PovertySummarySchema(Schema):
    total = fields.Nested(SalesFiguresSchema)
    by_zone = fields.List(fields.Nested(ZoneSalesFiguresSchema))
    farmer_share_owed_fen = fields.Integer()
    farmer_share_paid_fen = fields.Integer()
    as_of = fields.String()


ROUNDING = (
    "revenue per lot: each fulfilled order's price split over its holds at each lot's price per tonne; "
    "farmer share owed: the lot's revenue × its farmer_share_percent, rounded up to the whole fen"
)


# --- sales ----------------------------------------------------------------------------------------------


@bp.get("/sales/lots")
@document(
    "Per lot: tonnes sold, revenue, and the farmer share owed, paid and outstanding (?format=csv for CSV)",
    response="LotSalesListSchema",
    query="SalesQuerySchema",
    roles=REGISTRY_ROLE_NAMES,
    tag="sales",
)
def get_lot_sales() -> Response:
    return _sales_answer("sales-lots", LotSalesSchema, sales.lot_sales, _lot_sales_document)


@bp.get("/sales/counties")
@document(
    "Per county: tonnes sold, revenue, and the farmer share owed, paid and outstanding (?format=csv)",
    response="CountySalesListSchema",
    query="SalesQuerySchema",
    roles=REGISTRY_ROLE_NAMES,
    tag="sales",
)
def get_county_sales() -> Response:
    return _sales_answer("sales-counties", CountySalesSchema, sales.county_sales, _county_sales_document)


def _sales_answer(
    stem: str,
    schema: type[Schema],
    read: Callable[[Session], list[SalesRow]],
    document: Callable[[SalesRow], dict[str, Any]],
) -> Response:
    """For the registry's keys: the rows ``read`` gives, as JSON with their totals, or as CSV (``stem``)."""
    require_role(*REGISTRY)
    wants_csv = _wants_csv()
    with database().reading() as session:
        items = read(session)
    documents = [document(item) for item in items]
    if wants_csv:
        return csv_response(stem, _table(schema, documents))
    return json_response({"items": documents, "totals": _totals(items), "rounding": ROUNDING})


@bp.get("/public/poverty-summary")
@document(
    "How much of all sales came from poverty-area lots (kg, fen, percent), in total and by zone; public",
    response="PovertySummarySchema",
    tag="sales",
)
def get_poverty_summary() -> Response:
    summary = read_published(database(), sales.poverty_summary)  # a moment old on a read replica
    zones = regions.regions().zones
    by_zone = []
    for key, figures in summary.by_zone.items():
        zone = zones.get(key)
        by_zone.append(
            {"zone": key, "zh": zone.name_zh if zone else key, "en": zone.name_en if zone else key}
            | _figures_document(figures)
        )
    return json_response(
        {
            "total": _figures_document(summary.total),
            "by_zone": by_zone,
            "farmer_share_owed_fen": summary.farmer_share_owed_fen,
            "farmer_share_paid_fen": summary.farmer_share_paid_fen,
            "as_of": datetime.now(UTC).isoformat(),
        }
    )


# --- payouts --------------------------------------------------------------------------------------------


@bp.post("/lots/<lot_id>/payouts")
@document(
    "Record a farmer-share payout of a lot (or, with corrects_payout_id, a correction of one); an "
    "Idempotency-Key is required; refused if paid would exceed owed",
    body="PayoutCreateSchema",
    response="PayoutSchema",
    status=201,
    roles=(Role.REGISTRY_ADMIN.value,),
    tag="sales",
)
def record_payout(lot_id: str) -> Response:
    principal = require_role(Role.REGISTRY_ADMIN)
    key = request.headers.get(HEADER)
    if key is None:
        raise InvalidIdempotencyKey(
            "a payout stands for money paid out: send an Idempotency-Key so that a retry cannot record "
            "it twice",
            field=HEADER,
        )
    body = load_body(PayoutCreateSchema())
    payout = sales.NewPayout(
        amount_fen=body["amount_fen"],
        paid_at=body["paid_at"].astimezone(UTC),
        recipient_kind=body["recipient_kind"],
        recipient=body["recipient"],
        reference=body["reference"],
        note=body["note"],
        corrects_payout_id=body["corrects_payout_id"],
    )

    def work(session: Session) -> Created:
        row = sales.record_payout(
            session,
            lot_id,
            payout,
            # Scoped per API key, as idempotency records are: two keys' "1" are two requests.
            request_id=f"payout:{principal.key_id}:{key}",
            entered_by=principal.actor.name,
            now=datetime.now(UTC),
        )
        return Created(_payout_document(row), location=url_for("api.get_payouts", lot_id=lot_id))

    return run_creating(principal, work)


@bp.get("/lots/<lot_id>/payouts")
@document(
    "A lot's farmer-share payouts and corrections, with what its sales owe and what is outstanding",
    response="LotPayoutsSchema",
    roles=REGISTRY_ROLE_NAMES,
    tag="sales",
)
def get_payouts(lot_id: str) -> Response:
    require_role(*REGISTRY)
    with database().reading() as session:
        payouts = sales.payouts_of(session, lot_id)
        figures = sales.sales_of_lot(session, lot_id)
        documents = [_payout_document(row) for row in payouts]
    return json_response(
        {
            "lot_id": lot_id,
            "farmer_share_percent": str(figures.lot.farmer_share_percent),
            "revenue_fen": figures.revenue_fen,
            "farmer_share_owed_fen": figures.farmer_share_owed_fen,
            "farmer_share_paid_fen": figures.farmer_share_paid_fen,
            "farmer_share_outstanding_fen": figures.farmer_share_outstanding_fen,
            "payouts": documents,
        }
    )


# --- documents ------------------------------------------------------------------------------------------


def _wants_csv() -> bool:
    """``?format=csv``, or no ``format`` and an Accept header that prefers CSV to JSON."""
    query = SalesQuerySchema().load(request.args.to_dict())
    if query["format"] is not None:
        return bool(query["format"] == "csv")
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


def _tonnes(kg: int) -> str:
    return f"{kg // KG_PER_T}.{kg % KG_PER_T:03d}"


def _lot_sales_document(item: sales.LotSales) -> dict[str, Any]:
    lot = item.lot
    return {
        "lot_id": lot.lot_id,
        "project_id": lot.project_id,
        "county_code": lot.county_code,
        "county_name": sales.county_name(lot.county_code),
        "zone": lot.zone,
        "poverty_county": lot.poverty_county,
        "status": lot.status,
        "price_fen_per_t": lot.price_fen_per_t,
        "farmer_share_percent": str(lot.farmer_share_percent),
        "orders": item.orders,
        "sold_kg": item.sold_kg,
        "sold_t": _tonnes(item.sold_kg),
        "revenue_fen": item.revenue_fen,
        "farmer_share_owed_fen": item.farmer_share_owed_fen,
        "farmer_share_paid_fen": item.farmer_share_paid_fen,
        "farmer_share_outstanding_fen": item.farmer_share_outstanding_fen,
    }


def _county_sales_document(item: sales.CountySales) -> dict[str, Any]:
    return {
        "county_code": item.county_code,
        "county_name": sales.county_name(item.county_code),
        "zone": item.zone,
        "poverty_county": item.poverty_county,
        "lots": item.lots,
        "sold_kg": item.sold_kg,
        "sold_t": _tonnes(item.sold_kg),
        "revenue_fen": item.revenue_fen,
        "farmer_share_owed_fen": item.farmer_share_owed_fen,
        "farmer_share_paid_fen": item.farmer_share_paid_fen,
        "farmer_share_outstanding_fen": item.farmer_share_outstanding_fen,
    }


def _totals(items: list[sales.LotSales] | list[sales.CountySales]) -> dict[str, Any]:
    sold_kg = sum(item.sold_kg for item in items)
    owed = sum(item.farmer_share_owed_fen for item in items)
    paid = sum(item.farmer_share_paid_fen for item in items)
    return {
        "sold_kg": sold_kg,
        "sold_t": _tonnes(sold_kg),
        "revenue_fen": sum(item.revenue_fen for item in items),
        "farmer_share_owed_fen": owed,
        "farmer_share_paid_fen": paid,
        "farmer_share_outstanding_fen": owed - paid,
    }


def _figures_document(figures: sales.SalesFigures) -> dict[str, Any]:
    return {
        "sold_kg": figures.sold_kg,
        "sold_t": _tonnes(figures.sold_kg),
        "revenue_fen": figures.revenue_fen,
        "poverty_area_kg": figures.poverty_area_kg,
        "poverty_area_revenue_fen": figures.poverty_area_revenue_fen,
        "poverty_area_kg_percent": figures.poverty_area_kg_percent,
        "poverty_area_revenue_percent": figures.poverty_area_revenue_percent,
    }


def _table(schema: type[Schema], documents: list[dict[str, Any]]) -> Table:
    """The documents as CSV rows, columns in the schema's field order; decimal text becomes a number."""
    header = tuple(schema().fields)
    return Table(
        header,
        [
            tuple(Decimal(document[name]) if name in DECIMAL_TEXT else document[name] for name in header)
            for document in documents
        ],
    )


def _payout_document(row: FarmerPayout) -> dict[str, Any]:
    return {
        "id": row.id,
        "lot_id": row.lot_id,
        "amount_fen": row.amount_fen,
        "paid_at": as_utc(row.paid_at).isoformat(),
        "recipient_kind": row.recipient_kind,
        "recipient": row.recipient,
        "reference": row.reference,
        "note": row.note,
        "entered_by": row.entered_by,
        "corrects_payout_id": row.corrects_payout_id,
        "recorded_at": as_utc(row.recorded_at).isoformat(),
    }
