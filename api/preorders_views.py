"""Ex-ante pre-orders (预售): the registry lists announced credits, buyers pre-order, the registry converts.

Listing and converting are the registry admin's; anyone reads the listings. Enterprises and event
organisers pre-order with their keys; individuals without a key, like individual orders, and the
pre-order's opaque id is then what shows it again (an anonymous ``Idempotency-Key`` is kept on the
pre-order). A pre-order of an organisation is shown only to its keys and the registry; anyone else gets a
404. There is deliberately no endpoint to transfer or retire a pre-order: nothing is on the ledger until
the batch is issued and the pre-order converted into an order.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, optional_principal, require_role
from api.blueprint import api_blueprint as bp
from api.context import database
from api.idempotency import Created, run_creating
from api.openapi import document
from api.orders_views import (
    BUYER_ROLE_BY_KIND,
    BuyerSchema,
    RetirementBeneficiarySchema,
    beneficiary_public,
    buyer_may_see,
    buyer_of,
    require_buyer,
    run_creating_or_anonymous,
)
from api.responses import json_response
from api.schemas_offsets import Kilograms, Strict, StrictBoolean, load_body
from ledger.commands import RETIREMENT_REASONS
from marketplace import order_store, preorders
from marketplace.orders import OrderKind
from marketplace.reversal_models import PREORDER_OUTCOMES, Preorder, PreorderListing
from offsets.errors import NotFound
from offsets.lifecycle import Role

ADMIN = Role.REGISTRY_ADMIN
MAX_LISTINGS = 500


class PreorderListingCreateSchema(Strict):
    project_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    vintage = fields.String(required=True, validate=validate.Regexp(r"^\d{4}$"))
    cap_kg = Kilograms(required=True, validate=validate.Range(min=1, max=10**12))
    price_fen_per_t = Kilograms(required=True, validate=validate.Range(min=1, max=10**15))
    expected_issuance_on = fields.Date(required=True)


class PreorderListingConversionSchema(Schema):
    """When, and onto which lot of the issued batch, a listing's pre-orders were converted."""

    lot_id = fields.String()
    at = fields.String()


class PreorderListingSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    project_code = fields.String()
    project_name = fields.String()
    vintage = fields.String()
    cap_kg = fields.Integer()
    placed_kg = fields.Integer()
    remaining_kg = fields.Integer()
    price_fen_per_t = fields.Integer()
    expected_issuance_on = fields.String()
    created_at = fields.String()
    status = fields.String(metadata={"description": "open or converted"})
    conversion = fields.Nested(
        PreorderListingConversionSchema, allow_none=True, metadata={"description": "null while open"}
    )


class PreorderListingListSchema(Schema):
    items = fields.List(fields.Nested(PreorderListingSchema))


class PreorderBeneficiarySchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=preorders.MAX_TEXT_CHARS))
    public = StrictBoolean(load_default=None)
    """Individuals are private unless they opt in; events and enterprises are public."""


class PreorderCreateSchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf([kind.value for kind in OrderKind]))
    quantity_kg = Kilograms(required=True, validate=validate.Range(min=1, max=10**12))
    display_name = fields.String(
        load_default=None, validate=validate.Length(min=1, max=preorders.MAX_TEXT_CHARS)
    )
    beneficiary = fields.Nested(PreorderBeneficiarySchema, required=True)
    reason = fields.String(load_default=None, validate=validate.OneOf(RETIREMENT_REASONS))
    details = fields.String(load_default="", validate=validate.Length(max=preorders.MAX_DETAILS_CHARS))


class PreorderSchema(Schema):
    id = fields.String()
    listing_id = fields.Integer()
    position = fields.Integer(metadata={"description": "placement order within the listing"})
    kind = fields.String()
    state = fields.String(metadata={"description": "placed, converted or cancelled"})
    quantity_kg = fields.Integer()
    price_fen = fields.Integer()
    buyer = fields.Nested(BuyerSchema)
    beneficiary = fields.Nested(RetirementBeneficiarySchema)
    reason = fields.String()
    details = fields.String()
    placed_at = fields.String()
    order_id = fields.String(allow_none=True, metadata={"description": "the order it was converted into"})
    cause = fields.String(allow_none=True)
    transferable = fields.Boolean(metadata={"description": "always false: nothing is on the ledger yet"})
    retirable = fields.Boolean(metadata={"description": "always false: nothing is on the ledger yet"})


class PreorderConversionCreateSchema(Strict):
    lot_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    ttl_s = fields.Integer(
        load_default=preorders.DEFAULT_CONVERSION_TTL_S,
        strict=True,
        validate=validate.Range(min=1, max=preorders.DEFAULT_CONVERSION_TTL_S),
    )


class PreorderOutcomeSchema(Schema):
    """What became of one pre-order at its listing's conversion."""

    preorder_id = fields.String()
    outcome = fields.String(validate=validate.OneOf(PREORDER_OUTCOMES))
    order_id = fields.String(
        allow_none=True, metadata={"description": "the order it was converted into; null if cancelled"}
    )
    cause = fields.String(metadata={"description": "why it was converted or cancelled"})


class PreorderConversionSchema(Schema):
    listing_id = fields.Integer()
    lot_id = fields.String()
    at = fields.String()
    converted_by = fields.String()
    outcomes = fields.List(
        fields.Nested(PreorderOutcomeSchema),
        metadata={"description": "what became of each pre-order of the listing"},
    )


@bp.post("/preorder-listings")
@document(
    "List a project's announced, not yet verified credits of a vintage for pre-order (预售), up to a cap",
    body="PreorderListingCreateSchema",
    response="PreorderListingSchema",
    status=201,
    roles=(ADMIN.value,),
    tag="marketplace",
)
def create_preorder_listing() -> Response:
    principal = require_role(ADMIN)
    body = load_body(PreorderListingCreateSchema())

    def work(session: Session) -> Created:
        listing = preorders.create_listing(session, actor=principal.actor.name, now=datetime.now(UTC), **body)
        return Created(
            preorders.listing_json(session, listing),
            location=url_for("api.list_preorder_listings"),
        )

    return run_creating(principal, work)


@bp.get("/preorder-listings")
@document(
    "Pre-order listings, newest first, with what has been pre-ordered and what remains",
    response="PreorderListingListSchema",
    tag="marketplace",
)
def list_preorder_listings() -> Response:
    with database().reading() as session:
        listings = session.scalars(
            select(PreorderListing).order_by(PreorderListing.id.desc()).limit(MAX_LISTINGS)
        ).all()
        return json_response({"items": [preorders.listing_json(session, listing) for listing in listings]})


@bp.post("/preorder-listings/<id:listing_id>/preorders")
@document(
    "Pre-order from a listing within its cap: individuals without a key, organisations with theirs",
    body="PreorderCreateSchema",
    response="PreorderSchema",
    status=201,
    optional_auth=True,
    tag="marketplace",
)
def place_preorder(listing_id: int) -> Response:
    principal = optional_principal()
    body = load_body(PreorderCreateSchema())
    kind = OrderKind(body["kind"])
    if kind is not OrderKind.INDIVIDUAL:
        principal = require_buyer(BUYER_ROLE_BY_KIND[kind], "pre-order")
    now = datetime.now(UTC)

    def work(session: Session, anonymous_key: str | None = None) -> Created:
        organisation_id, display_name = buyer_of(session, kind, principal, body["display_name"])
        command = preorders.NewPreorder(
            kind=kind,
            quantity_kg=body["quantity_kg"],
            buyer_organisation_id=organisation_id,
            buyer_display_name=display_name,
            beneficiary_name=body["beneficiary"]["name"],
            beneficiary_public=beneficiary_public(kind, body["beneficiary"]["public"]),
            reason=body["reason"] or order_store.REASON_BY_KIND[kind],
            details=body["details"],
            anonymous_idempotency_key=anonymous_key,
        )
        preorder = preorders.place_preorder(session, listing_id, command, now=now)
        return Created(
            preorders.preorder_json(session, preorder),
            location=url_for("api.get_preorder", preorder_id=preorder.id),
        )

    def replay(session: Session, key: str) -> Created | None:
        preorder = session.scalar(select(Preorder).where(Preorder.anonymous_idempotency_key == key))
        if preorder is None:
            return None
        return Created(
            preorders.preorder_json(session, preorder),
            location=url_for("api.get_preorder", preorder_id=preorder.id),
        )

    return run_creating_or_anonymous(principal, work, replay)


@bp.get("/preorders/<preorder_id>")
@document(
    "A pre-order and what became of it: its buyer's keys, the registry, or (individuals) its id",
    response="PreorderSchema",
    optional_auth=True,
    tag="marketplace",
)
def get_preorder(preorder_id: str) -> Response:
    principal = optional_principal()
    with database().reading() as session:
        preorder = _visible_preorder(session, preorder_id, principal)
        return json_response(preorders.preorder_json(session, preorder))


@bp.post("/preorder-listings/<id:listing_id>/conversion")
@document(
    "Convert a listing's pre-orders, in placement order, into orders reserving a lot of the issued batch",
    body="PreorderConversionCreateSchema",
    response="PreorderConversionSchema",
    status=201,
    roles=(ADMIN.value,),
    tag="marketplace",
)
def convert_preorder_listing(listing_id: int) -> Response:
    principal = require_role(ADMIN)
    body = load_body(PreorderConversionCreateSchema())

    def work(session: Session) -> Created:
        result = preorders.convert_listing(
            session,
            listing_id,
            lot_id=body["lot_id"],
            actor=principal.actor.name,
            now=datetime.now(UTC),
            ttl_s=body["ttl_s"],
        )
        return Created(
            preorders.conversion_json(session, result),
            status=200 if result.repeated else 201,
            location=url_for("api.list_preorder_listings"),
        )

    return run_creating(principal, work)


def _visible_preorder(session: Session, preorder_id: str, principal: Principal | None) -> Preorder:
    """The pre-order if the caller may see it; a 404 otherwise (never a hint that it exists)."""
    preorder = session.get(Preorder, preorder_id) if len(preorder_id) <= 64 else None
    if preorder is None or not buyer_may_see(principal, preorder.buyer_organisation_id):
        raise NotFound(f"no pre-order {preorder_id}", field="preorder_id")
    return preorder
