"""Lots through the API: listing a batch's kilograms for sale, and the public catalogue buyers choose from.

``POST /lots`` moves kilograms of an issued batch from its project owner's ledger account into ``RETAIL``
(:func:`marketplace.lots.list_lot`, request id ``lot:<lot id>``) and records the lot's price and sourcing
facts. The registry admin may list any project's batch; a project owner only its own projects' batches —
another owner's batch is refused as if it did not exist, so that a key cannot move what it does not hold.
The catalogue (``GET /lots``, ``GET /lots/<id>``) is public: price, project, county, zone, vintage, type,
poverty-area status with its source, benefit-sharing terms and the kilograms available now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Response, request, url_for
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as MarshmallowValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import require_role
from api.blueprint import api_blueprint as bp
from api.context import database, ledger_service
from api.idempotency import Created, run_creating
from api.openapi import document
from api.responses import json_response
from api.schemas_offsets import Kilograms, Strict, load_body, load_query
from ledger.models import Batch
from ledger.orm import as_utc
from marketplace.lots import MAX_LOT_ID_CHARS, LotFilters, available_kg_of, list_lot, matching_lots
from marketplace.models import Lot
from marketplace.orders import IDENTIFIER
from offsets.errors import NotFound
from offsets.lifecycle import Role
from offsets.models import PROJECT_TYPES, Project
from offsets.regions import ZONE_KEYS

MAX_PRICE_FEN_PER_T = 10**9
"""10 million yuan a tonne: far above any carbon price, low enough that no total overflows."""
MAX_PER_PAGE = 200


class LotCreateSchema(Strict):
    lot_id = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_LOT_ID_CHARS), validate.Regexp(IDENTIFIER)],
    )
    batch_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity_kg = Kilograms(required=True, validate=validate.Range(min=1, max=10**12))
    price_fen_per_t = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=MAX_PRICE_FEN_PER_T)
    )
    farmer_share_percent = fields.Decimal(
        load_default=None, places=None, validate=validate.Range(min=0, max=100), allow_nan=False
    )
    """The share of revenue owed to the project's households and collectives; by default the sum of the
    project's registered beneficiaries' shares."""

    @validates_schema
    def _share_has_two_decimals(self, data: dict[str, Any], **_: Any) -> None:
        share = data.get("farmer_share_percent")
        if share is not None and share != share.quantize(Decimal("0.01")):
            raise MarshmallowValidationError({"farmer_share_percent": ["at most two decimals"]})


class LotListQuery(Strict):
    zone = fields.String(validate=validate.OneOf(ZONE_KEYS))
    project_type = fields.String(validate=validate.OneOf(PROJECT_TYPES))
    poverty_area_only = fields.Boolean(load_default=False, truthy={"true"}, falsy={"false"})
    vintage_from = fields.String(validate=validate.Regexp(r"^\d{4}$"))
    vintage_to = fields.String(validate=validate.Regexp(r"^\d{4}$"))
    include_suspended = fields.Boolean(load_default=False, truthy={"true"}, falsy={"false"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10**6))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class LotSchema(Schema):
    id = fields.String()
    batch_id = fields.String()
    project_id = fields.Integer()
    project_code = fields.String()
    project_name = fields.String()
    project_type = fields.String()
    county_code = fields.String()
    zone = fields.String()
    vintage = fields.String()
    price_fen_per_t = fields.Integer()
    poverty_county = fields.Boolean()
    poverty_source = fields.String()
    farmer_share_percent = fields.String()
    listed_kg = fields.Integer()
    available_kg = fields.Integer()
    status = fields.String()
    listed_at = fields.String()
    transfer_seq = fields.Integer()


class LotPageSchema(Schema):
    items = fields.List(fields.Nested(LotSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


@bp.post("/lots")
@document(
    "List kilograms of an issued batch for sale: a ledger transfer from the project owner into RETAIL, "
    "priced per tonne, with the sourcing facts copied at listing time",
    body="LotCreateSchema",
    response="LotSchema",
    status=201,
    roles=(Role.REGISTRY_ADMIN.value, Role.PROJECT_OWNER.value),
    tag="marketplace",
)
def create_lot() -> Response:
    principal = require_role(Role.REGISTRY_ADMIN, Role.PROJECT_OWNER)
    body = load_body(LotCreateSchema())
    service = ledger_service()

    def work(session: Session) -> Created:
        if not principal.is_registry:
            owner_id = session.scalar(
                select(Project.owner_id)
                .join(Batch, Batch.project == Project.code)
                .where(Batch.id == body["batch_id"])
            )
            if owner_id is None or not principal.owns(owner_id):
                raise NotFound(f"no batch {body['batch_id']} of your projects", field="batch_id")
        lot = list_lot(
            session,
            service.sequencer,
            lot_id=body["lot_id"],
            batch_id=body["batch_id"],
            quantity_kg=body["quantity_kg"],
            price_fen_per_t=body["price_fen_per_t"],
            at=datetime.now(UTC),
            farmer_share_percent=body["farmer_share_percent"],
        )
        return Created(lot_documents(session, [lot])[0], location=url_for("api.get_lot", lot_id=lot.id))

    return run_creating(principal, work)


@bp.get("/lots")
@document(
    "The public catalogue: lots with their sourcing facts and available kilograms, filtered like an "
    "order's sourcing, in allocation order (oldest vintage first, then lot id)",
    query="LotListQuery",
    response="LotPageSchema",
    tag="marketplace",
)
def list_lots() -> Response:
    query = load_query(LotListQuery(), request.args)
    filters = LotFilters(
        poverty_area_only=query["poverty_area_only"],
        zone=query.get("zone"),
        project_type=query.get("project_type"),
        vintage_from=query.get("vintage_from"),
        vintage_to=query.get("vintage_to"),
    )
    statement = matching_lots(filters, include_suspended=query["include_suspended"])
    statement = statement.order_by(None).order_by(Lot.vintage, Lot.id)
    page, per_page = query["page"], query["per_page"]
    with database().reading() as session:
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        lots = list(session.scalars(statement.offset((page - 1) * per_page).limit(per_page)))
        items = lot_documents(session, lots)
    return json_response({"items": items, "page": page, "per_page": per_page, "total": total}, 200)


@bp.get("/lots/<lot_id>")
@document("One lot of the public catalogue", response="LotSchema", tag="marketplace")
def get_lot(lot_id: str) -> Response:
    with database().reading() as session:
        lot = session.get(Lot, lot_id) if len(lot_id) <= MAX_LOT_ID_CHARS else None
        if lot is None:
            raise NotFound(f"no lot {lot_id}", field="lot_id")
        return json_response(lot_documents(session, [lot])[0], 200)


def lot_documents(session: Session, lots: list[Lot]) -> list[dict[str, Any]]:
    """The public facts of ``lots``, with what each has available now (0 for a suspended lot)."""
    available = available_kg_of(session, lots)
    project_ids = {lot.project_id for lot in lots}
    projects = {p.id: p for p in session.scalars(select(Project).where(Project.id.in_(project_ids)))}
    return [
        {
            "id": lot.id,
            "batch_id": lot.batch_id,
            "project_id": lot.project_id,
            "project_code": projects[lot.project_id].code,
            "project_name": projects[lot.project_id].name,
            "project_type": lot.project_type,
            "county_code": lot.county_code,
            "zone": lot.zone,
            "vintage": lot.vintage,
            "price_fen_per_t": lot.price_fen_per_t,
            "poverty_county": lot.poverty_county,
            "poverty_source": lot.poverty_source,
            "farmer_share_percent": f"{Decimal(lot.farmer_share_percent):.2f}",
            "listed_kg": lot.listed_kg,
            "available_kg": available[lot.id] if lot.status == "listed" else 0,
            "status": lot.status,
            "listed_at": as_utc(lot.listed_at).isoformat(),
            "transfer_seq": lot.transfer_seq,
        }
        for lot in lots
    ]
