"""Quotes for organisations: ``POST /quotes`` prices N kg (or t) with sourcing preferences, reserving nothing.

An enterprise buyer's or event organiser's key asks; the answer is the deterministic allocation with its
explanation, each lot's price per tonne and line total, the total in fen, and ``valid_until``: the quote
holds for ``TANHUI_QUOTE_VALIDITY_S`` seconds (default 24 hours, marketplace.quotes). ``POST /orders``
with ``quote_id`` then reserves exactly those lines at those prices, or answers 409 naming ``quote_id``.
A quote is shown only to its organisation's keys and the registry; anyone else gets a 404.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, url_for
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, require_key
from api.blueprint import api_blueprint as bp
from api.context import database
from api.idempotency import Created, run_creating
from api.openapi import document
from api.orders_views import BUYER_ROLE_BY_KIND, OrderSourcingSchema, SourcingPreferencesSchema
from api.responses import json_response
from api.schemas_offsets import Kilograms, Strict, load_body
from ledger.orm import as_utc
from marketplace import quotes
from marketplace.journey_models import Quote
from marketplace.lots import LotFilters
from marketplace.models import Lot, MarketOrder
from marketplace.money import KG_PER_T
from offsets.errors import Forbidden, NotFound
from offsets.lifecycle import Role

BUYER_ROLES = tuple(sorted(BUYER_ROLE_BY_KIND.values()))
READER_ROLES = (*BUYER_ROLES, Role.REGISTRY_ADMIN.value, Role.REVIEWER.value)
MAX_QUANTITY_T = 10**9


class QuoteCreateSchema(Strict):
    quantity_kg = Kilograms(load_default=None, validate=validate.Range(min=1, max=10**12))
    quantity_t = Kilograms(load_default=None, validate=validate.Range(min=1, max=MAX_QUANTITY_T))
    """Whole tonnes, for buyers who think in tonnes; give this or quantity_kg."""
    sourcing = fields.Nested(OrderSourcingSchema, load_default=dict)

    @validates_schema
    def _one_quantity(self, data: dict[str, Any], **_: Any) -> None:
        if (data["quantity_kg"] is None) == (data["quantity_t"] is None):
            raise ValidationError(
                {"quantity_kg": ["give quantity_kg or quantity_t (whole tonnes), not both"]}
            )


class QuoteLineSchema(Schema):
    lot_id = fields.String()
    quantity_kg = fields.Integer()
    price_fen_per_t = fields.Integer()
    price_fen = fields.Integer()
    project_id = fields.Integer()
    county_code = fields.String()
    zone = fields.String()
    vintage = fields.String()
    poverty_county = fields.Boolean()


class QuoteSchema(Schema):
    id = fields.String()
    organisation_id = fields.Integer()
    quantity_kg = fields.Integer()
    total_fen = fields.Integer()
    sourcing = fields.Nested(SourcingPreferencesSchema)
    lines = fields.List(fields.Nested(QuoteLineSchema))
    explanation = fields.List(fields.String())
    created_at = fields.String()
    valid_until = fields.String()
    accepted_by_order_id = fields.String(allow_none=True)


@bp.post("/quotes")
@document(
    "Quote N kg (or whole tonnes) with sourcing preferences: the allocation, prices and total, valid for "
    "TANHUI_QUOTE_VALIDITY_S (default 24 h); nothing is reserved",
    body="QuoteCreateSchema",
    response="QuoteSchema",
    status=201,
    roles=BUYER_ROLES,
    tag="marketplace",
)
def create_quote() -> Response:
    principal = require_buyer_key()
    body = load_body(QuoteCreateSchema())
    quantity_kg = body["quantity_kg"] if body["quantity_kg"] is not None else body["quantity_t"] * KG_PER_T
    validity_s = int(current_app.config.get("TANHUI_QUOTE_VALIDITY_S", quotes.DEFAULT_QUOTE_VALIDITY_S))
    now = datetime.now(UTC)

    def work(session: Session) -> Created:
        quote = quotes.create_quote(
            session,
            organisation_id=principal.organisation_id,
            quantity_kg=quantity_kg,
            filters=LotFilters(**body["sourcing"]),
            now=now,
            validity_s=validity_s,
        )
        return Created(quote_document(session, quote), location=url_for("api.get_quote", quote_id=quote.id))

    return run_creating(principal, work)


@bp.get("/quotes/<quote_id>")
@document(
    "A quote: its organisation's keys and the registry",
    response="QuoteSchema",
    roles=READER_ROLES,
    tag="marketplace",
)
def get_quote(quote_id: str) -> Response:
    principal = require_key()
    with database().reading() as session:
        quote = quotes.visible_quote(
            session, quote_id, None if principal.is_registry else principal.organisation_id
        )
        return json_response(quote_document(session, quote), 200)


def quote_document(session: Session, quote: Quote) -> dict[str, Any]:
    lines = quotes.lines_of(session, quote.id)
    lots = {
        lot.id: lot for lot in session.scalars(select(Lot).where(Lot.id.in_([line.lot_id for line in lines])))
    }
    return {
        "id": quote.id,
        "organisation_id": quote.organisation_id,
        "quantity_kg": quote.quantity_kg,
        "total_fen": quote.total_fen,
        "sourcing": json.loads(quote.sourcing),
        "lines": [
            {
                "lot_id": line.lot_id,
                "quantity_kg": line.quantity_kg,
                "price_fen_per_t": line.price_fen_per_t,
                "price_fen": line.price_fen,
                "project_id": lots[line.lot_id].project_id,
                "county_code": lots[line.lot_id].county_code,
                "zone": lots[line.lot_id].zone,
                "vintage": lots[line.lot_id].vintage,
                "poverty_county": lots[line.lot_id].poverty_county,
            }
            for line in lines
        ],
        "explanation": quote.explanation.split("\n"),
        "created_at": as_utc(quote.created_at).isoformat(),
        "valid_until": as_utc(quote.valid_until).isoformat(),
        "accepted_by_order_id": session.scalar(
            select(MarketOrder.id).where(MarketOrder.quote_id == quote.id)
        ),
    }


# --- shared by the journeys' views ----------------------------------------------------------------------


def require_buyer_key(*roles: str) -> Principal:
    """The caller, holding one of the marketplace's buyer ``roles`` (default: either buyer role)."""
    principal = require_key()
    allowed = roles or BUYER_ROLES
    if principal.role not in allowed:
        raise Forbidden(
            f"a {principal.role} key may not do this; it needs the role {' or '.join(allowed)}", field="role"
        )
    return principal


def require_own_organisation(principal: Principal, organisation_id: int, *, registry_too: bool) -> None:
    """A 404 unless the key is the organisation's own (or, if allowed, the registry's): no hint it exists."""
    if registry_too and principal.is_registry:
        return
    if principal.organisation_id != organisation_id:
        raise NotFound(f"no organisation {organisation_id}", field="organisation_id")
