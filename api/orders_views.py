"""Marketplace orders: placing one (individuals need no key), reading it, and the registry's invoice receipt.

Each view parses, authenticates, runs one unit of work around one :mod:`marketplace.order_store` function
and dumps. An individual micro-sink order needs no API key: its opaque id is what shows it again. Orders
of organisations (enterprise, event) are shown only to their buyer's keys and the registry; any other
caller gets a 404, so that another organisation cannot even learn that an order exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import Response, current_app, request, url_for
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, Unauthorized, optional_principal, require_role
from api.blueprint import api_blueprint as bp
from api.context import database, ledger_service
from api.idempotency import HEADER, KEY_PATTERN, REPLAYED_HEADER, Created, InvalidIdempotencyKey, run_creating
from api.openapi import document
from api.problems import problem, title_of
from api.responses import json_response
from api.schemas_offsets import Kilograms, Strict, StrictBoolean, load_body
from ledger.commands import RETIREMENT_REASONS
from marketplace import order_store, quotes
from marketplace.errors import MarketplaceError
from marketplace.lots import LotFilters
from marketplace.models import Certificate, MarketOrder
from marketplace.orders import OrderKind
from offsets.errors import Forbidden, NotFound
from offsets.lifecycle import Role
from offsets.models import PROJECT_TYPES, Organisation
from offsets.regions import ZONE_KEYS

ENTERPRISE_BUYER = "enterprise_buyer"
EVENT_ORGANISER = "event_organiser"
BUYER_ROLE_BY_KIND = {OrderKind.ENTERPRISE: ENTERPRISE_BUYER, OrderKind.EVENT: EVENT_ORGANISER}
ANONYMOUS_DISPLAY_NAME = "匿名"
MAX_NAME_CHARS = 200
MAX_DETAILS_CHARS = 1000
MAX_GIFT_MESSAGE_CHARS = 500
GIFT_REASON = "gift"


# --- schemas --------------------------------------------------------------------------------------------


class OrderSourcingSchema(Strict):
    poverty_area_only = StrictBoolean(load_default=False)
    prefer_poverty_area = StrictBoolean(load_default=False)
    zone = fields.String(load_default=None, validate=validate.OneOf(ZONE_KEYS))
    project_type = fields.String(load_default=None, validate=validate.OneOf(PROJECT_TYPES))
    vintage_from = fields.String(load_default=None, validate=validate.Regexp(r"^\d{4}$"))
    vintage_to = fields.String(load_default=None, validate=validate.Regexp(r"^\d{4}$"))


class OrderBeneficiarySchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NAME_CHARS))
    public = StrictBoolean(load_default=None)
    """Individuals are private unless they opt in; events and enterprises are public."""


class OrderGiftSchema(Strict):
    """A micro-sink given to someone: retired in the recipient's name (private unless ``public``)."""

    recipient_name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NAME_CHARS))
    message = fields.String(load_default="", validate=validate.Length(max=MAX_GIFT_MESSAGE_CHARS))
    public = StrictBoolean(load_default=False)


class OrderCreateSchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf([kind.value for kind in OrderKind]))
    quantity_kg = Kilograms(load_default=None, validate=validate.Range(min=1, max=10**12))
    """Required, except with a quote (whose quantity it then must equal)."""
    display_name = fields.String(load_default=None, validate=validate.Length(min=1, max=MAX_NAME_CHARS))
    beneficiary = fields.Nested(OrderBeneficiarySchema, load_default=None)
    """Required, except for a gift (whose recipient is the beneficiary)."""
    reason = fields.String(load_default=None, validate=validate.OneOf(RETIREMENT_REASONS))
    details = fields.String(load_default="", validate=validate.Length(max=MAX_DETAILS_CHARS))
    sourcing = fields.Nested(OrderSourcingSchema, load_default=None)
    quote_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    """Accept a quote (POST /quotes): the order takes its sourcing and must come out at its price."""
    gift = fields.Nested(OrderGiftSchema, load_default=None)

    @validates_schema
    def _quote_and_gift(self, data: dict[str, Any], **_: Any) -> None:
        individual = data["kind"] == OrderKind.INDIVIDUAL.value
        if data["quote_id"] is None and data["quantity_kg"] is None:
            raise ValidationError({"quantity_kg": ["Missing data for required field."]})
        if data["quote_id"] is not None and individual:
            raise ValidationError({"quote_id": ["quotes are for enterprises and event organisers"]})
        if data["quote_id"] is not None and data["sourcing"] is not None:
            raise ValidationError({"sourcing": ["the quote fixes the sourcing; leave it out"]})
        if data["gift"] is not None and not individual:
            raise ValidationError({"gift": ["only an individual's micro-sink can be a gift"]})
        if data["gift"] is not None and (data["beneficiary"] is not None or data["reason"] is not None):
            field = "beneficiary" if data["beneficiary"] is not None else "reason"
            raise ValidationError({field: ["a gift's beneficiary is its recipient and its reason is gift"]})
        if data["gift"] is None and data["beneficiary"] is None:
            raise ValidationError({"beneficiary": ["Missing data for required field."]})

    @validates_schema
    def _details_for_events(self, data: dict[str, Any], **_: Any) -> None:
        if data["kind"] == OrderKind.EVENT.value and not data["details"].strip():
            raise ValidationError({"details": ["name the event (and its dates and place)"]})
        if data["kind"] == OrderKind.ENTERPRISE.value and not data["details"].strip():
            raise ValidationError({"details": ["name the compliance period the credits are bought for"]})


class InvoicePaymentSchema(Strict):
    amount_fen = Kilograms(required=True, validate=validate.Range(min=1, max=10**15))
    reference = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=100), validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$")],
    )


class OrderEventSchema(Schema):
    source = fields.String()
    target = fields.String()
    at = fields.String()
    cause = fields.String()
    detail = fields.String()
    paid_fen = fields.Integer()
    refunded_fen = fields.Integer()


class BuyerSchema(Schema):
    """Who bought an order or a pre-order."""

    organisation_id = fields.Integer(
        allow_none=True, metadata={"description": "the buying organisation; null for an individual"}
    )
    display_name = fields.String(
        metadata={"description": "the organisation's name, or the individual's display name (匿名 if none)"}
    )


class RetirementBeneficiarySchema(Schema):
    """In whose name an order's (or a pre-order's) credits are retired."""

    name = fields.String()
    public = fields.Boolean(
        metadata={"description": "false: the public ledger carries only a salted commitment to the name"}
    )


class SourcingPreferencesSchema(Schema):
    """What the buyer requires of the lots (marketplace.lots.LotFilters); null means no requirement."""

    poverty_area_only = fields.Boolean(metadata={"description": "only lots of poverty-area counties"})
    prefer_poverty_area = fields.Boolean(
        metadata={"description": "poverty-area lots first; the others are not excluded"}
    )
    zone = fields.String(allow_none=True, validate=validate.OneOf(ZONE_KEYS))
    project_type = fields.String(allow_none=True, validate=validate.OneOf(PROJECT_TYPES))
    vintage_from = fields.String(allow_none=True, metadata={"description": "YYYY, inclusive"})
    vintage_to = fields.String(allow_none=True, metadata={"description": "YYYY, inclusive"})


class LotHoldSchema(Schema):
    lot_id = fields.String()
    quantity_kg = fields.Integer()


class OrderAllocationSchema(Schema):
    """The order's latest reservation: which lots hold its kilograms, and why those."""

    holds = fields.List(
        fields.Nested(LotHoldSchema), metadata={"description": "empty if the order was never reserved"}
    )
    explanation = fields.List(fields.String(), metadata={"description": "one line per rule or lot"})
    holds_stock = fields.Boolean(
        metadata={"description": "whether the holds still take stock (reserved or paid orders)"}
    )
    expires_at = fields.String(
        allow_none=True, metadata={"description": "when the reservation lapses; null if never reserved"}
    )


class GiftMessageSchema(Schema):
    """To whom a micro-sink was given (its beneficiary), and the message with it."""

    recipient_name = fields.String()
    message = fields.String(metadata={"description": "empty if none was given"})


class OrderSchema(Schema):
    id = fields.String()
    kind = fields.String()
    state = fields.String()
    quantity_kg = fields.Integer()
    price_fen = fields.Integer()
    buyer = fields.Nested(BuyerSchema)
    beneficiary = fields.Nested(RetirementBeneficiarySchema)
    reason = fields.String()
    details = fields.String()
    sourcing = fields.Nested(SourcingPreferencesSchema)
    allocation = fields.Nested(OrderAllocationSchema)
    events = fields.List(fields.Nested(OrderEventSchema))
    paid_fen = fields.Integer()
    refunded_fen = fields.Integer()
    fulfilment_seq = fields.Integer(allow_none=True)
    certificate_id = fields.String(allow_none=True)
    quote_id = fields.String(allow_none=True)
    event_id = fields.Integer(allow_none=True)
    gift = fields.Nested(
        GiftMessageSchema, allow_none=True, metadata={"description": "recipient_name and message of a gift"}
    )


# --- errors of the marketplace's domain, as problems naming the field -----------------------------------


@bp.errorhandler(MarketplaceError)
def _marketplace_problem(error: MarketplaceError) -> Response:
    """Every refusal of the marketplace (orders, lots, pre-orders, reversals, money), for every view of the
    blueprint: its status, its code as the problem type, and the field at fault."""
    status, code = error.status, error.code
    return problem(
        status,
        title_of(status),
        str(error),
        code,
        field=error.field,
        errors=[{"field": error.field, "message": error.message}],
    )


# --- views ----------------------------------------------------------------------------------------------


@bp.post("/orders")
@document(
    "Place an order: individuals from 1 kg without a key; enterprises and event organisers with theirs",
    body="OrderCreateSchema",
    response="OrderSchema",
    status=201,
    optional_auth=True,
    tag="marketplace",
)
def place_order_view() -> Response:
    principal = optional_principal()
    body = load_body(OrderCreateSchema())
    kind = OrderKind(body["kind"])
    if kind is not OrderKind.INDIVIDUAL:
        principal = require_buyer(BUYER_ROLE_BY_KIND[kind])
    now = datetime.now(UTC)
    ttl_s = int(current_app.config.get("TANHUI_RESERVATION_TTL_S", order_store.DEFAULT_RESERVATION_TTL_S))

    def command(session: Session, anonymous_key: str | None = None) -> order_store.NewOrder:
        gift = body["gift"]
        beneficiary = body["beneficiary"] or {"name": gift["recipient_name"], "public": gift["public"]}
        public = beneficiary_public(kind, beneficiary["public"])
        organisation_id, display_name = buyer_of(session, kind, principal, body["display_name"])
        reason = GIFT_REASON if gift is not None else body["reason"] or order_store.REASON_BY_KIND[kind]
        filters = LotFilters(**(body["sourcing"] or {}))
        quantity_kg = body["quantity_kg"]
        if body["quote_id"] is not None:
            quote = quotes.visible_quote(session, body["quote_id"], organisation_id)
            filters = quotes.filters_of(quote)
            quantity_kg = quote.quantity_kg if quantity_kg is None else quantity_kg
        return order_store.NewOrder(
            kind=kind,
            quantity_kg=quantity_kg,
            buyer_organisation_id=organisation_id,
            buyer_display_name=display_name,
            beneficiary_name=beneficiary["name"].strip(),
            beneficiary_public=public,
            reason=reason,
            details=body["details"].strip(),
            filters=filters,
            anonymous_idempotency_key=anonymous_key,
            quote_id=body["quote_id"],
            gift_message=gift["message"].strip() if gift is not None else None,
        )

    def work(session: Session, anonymous_key: str | None = None) -> Created:
        row = order_store.place_and_reserve(session, command(session, anonymous_key), now=now, ttl_s=ttl_s)
        return Created(order_document(session, row), location=url_for("api.get_order", order_id=row.id))

    def replay(session: Session, key: str) -> Created | None:
        row = session.scalar(select(MarketOrder).where(MarketOrder.anonymous_idempotency_key == key))
        if row is None:
            return None
        return Created(order_document(session, row), location=url_for("api.get_order", order_id=row.id))

    return run_creating_or_anonymous(principal, work, replay)


@bp.get("/orders/<order_id>")
@document(
    "An order with its events and allocation: its buyer's keys, the registry, or (individuals) its id",
    response="OrderSchema",
    optional_auth=True,
    tag="marketplace",
)
def get_order(order_id: str) -> Response:
    principal = optional_principal()
    with database().reading() as session:
        row = visible_order(session, order_id, principal)
        return json_response(order_document(session, row), 200)


@bp.post("/orders/<order_id>/invoice-payment")
@document(
    "The registry confirms an invoice was paid (idempotent on the reference); the order is fulfilled at once",
    body="InvoicePaymentSchema",
    response="OrderSchema",
    roles=(Role.REGISTRY_ADMIN.value,),
    tag="marketplace",
)
def record_invoice_payment_view(order_id: str) -> Response:
    principal = require_role(Role.REGISTRY_ADMIN)
    body = load_body(InvoicePaymentSchema())
    service = ledger_service()

    def work(session: Session) -> Created:
        row = visible_order(session, order_id, principal)
        order_store.record_invoice_payment(
            session,
            service.sequencer,
            row,
            reference=body["reference"],
            amount_fen=body["amount_fen"],
            now=datetime.now(UTC),
            ledger_account_of_buyer=order_store.buyer_ledger_account(session, row),
        )
        return Created(order_document(session, row), status=200)

    return run_creating(principal, work)


# --- shared with the certificate views -----------------------------------------------------------------


def visible_order(session: Session, order_id: str, principal: Principal | None) -> MarketOrder:
    """The order if the caller may see it; a 404 otherwise (never a hint that it exists)."""
    row = session.get(MarketOrder, order_id) if len(order_id) <= 64 else None
    if row is None or not buyer_may_see(principal, row.buyer_organisation_id):
        raise NotFound(f"no order {order_id}", field="order_id")
    return row


def order_document(session: Session, row: MarketOrder) -> dict[str, Any]:
    order = order_store.load(session, row)
    certificate_id = session.scalar(select(Certificate.id).where(Certificate.order_id == row.id))
    reservation = order.reservation
    return {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "quantity_kg": row.quantity_kg,
        "price_fen": row.price_fen,
        "buyer": {"organisation_id": row.buyer_organisation_id, "display_name": row.buyer_display_name},
        "beneficiary": {"name": row.beneficiary_name, "public": row.beneficiary_public},
        "reason": row.reason,
        "details": row.details,
        "sourcing": json.loads(row.sourcing),
        "allocation": {
            "holds": [
                {"lot_id": hold.lot_id, "quantity_kg": hold.quantity_kg}
                for hold in (reservation.holds if reservation else ())
            ],
            "explanation": row.allocation_explanation.split("\n"),
            "holds_stock": order.holds_stock,
            "expires_at": reservation.expires_at.isoformat() if reservation else None,
        },
        "events": [
            {
                "source": event.source.value,
                "target": event.target.value,
                "at": event.at.isoformat(),
                "cause": event.cause.value,
                "detail": event.detail,
                "paid_fen": event.paid_fen,
                "refunded_fen": event.refunded_fen,
            }
            for event in order.events
        ],
        "paid_fen": order.paid_fen,
        "refunded_fen": order.refunded_fen,
        "fulfilment_seq": row.fulfilment_seq,
        "certificate_id": certificate_id,
        "quote_id": row.quote_id,
        "event_id": row.event_id,
        "gift": (
            {"recipient_name": row.beneficiary_name, "message": row.gift_message or ""}
            if row.reason == GIFT_REASON and row.kind == OrderKind.INDIVIDUAL.value
            else None
        ),
    }


# --- shared with the pre-order views: buyers, and creating without a key --------------------------------


def require_buyer(role: str, what: str = "order") -> Principal:
    """The caller, holding the buyer ``role`` (a marketplace role, not one of offsets.lifecycle.Role) needed
    to place ``what`` (an order or a pre-order) for an organisation."""
    principal = optional_principal()
    if principal is None:
        raise Unauthorized(
            f"this kind of {what} needs an API key: 'Authorization: Bearer thk_…'", field="Authorization"
        )
    if principal.role != role:
        raise Forbidden(
            f"a {principal.role} key may not place this {what}; it needs the role {role}", field="role"
        )
    return principal


def buyer_of(
    session: Session, kind: OrderKind, principal: Principal | None, display_name: str | None
) -> tuple[int | None, str]:
    """The buying organisation's id and name; an individual buys without one, under ``display_name``
    (匿名 if none)."""
    if kind is OrderKind.INDIVIDUAL:
        return None, display_name or ANONYMOUS_DISPLAY_NAME
    assert principal is not None
    organisation = session.get(Organisation, principal.organisation_id)
    assert organisation is not None
    return organisation.id, organisation.name


def beneficiary_public(kind: OrderKind, public: bool | None) -> bool:
    """Individuals are private unless they opt in; events and enterprises are public unless they opt out."""
    return kind is not OrderKind.INDIVIDUAL if public is None else public


def buyer_may_see(principal: Principal | None, buyer_organisation_id: int | None) -> bool:
    """An individual's order or pre-order is shown to whoever has its id; an organisation's only to its own
    keys and the registry (anyone else is answered 404, never a hint that it exists)."""
    if buyer_organisation_id is None or (principal is not None and principal.is_registry):
        return True
    return principal is not None and principal.organisation_id == buyer_organisation_id


class CreatingWork(Protocol):
    """A creating view's work in the caller's session, given the anonymous Idempotency-Key to keep."""

    def __call__(self, session: Session, anonymous_key: str | None = None) -> Created: ...


def run_creating_or_anonymous(
    principal: Principal | None,
    work: CreatingWork,
    replay: Callable[[Session, str], Created | None],
) -> Response:
    """Run ``work`` once per Idempotency-Key: with an API key through :func:`run_creating`; without one (an
    individual) the key is kept on the row ``work`` creates (no API key to scope it by), and ``replay``
    finds that row again for a repeated request (201 with ``Idempotent-Replayed``)."""
    if principal is not None:
        return run_creating(principal, work)
    key = request.headers.get(HEADER)
    if key is not None and not KEY_PATTERN.fullmatch(key):
        raise InvalidIdempotencyKey("an Idempotency-Key is 1 to 255 visible ASCII characters", field=HEADER)
    with database().unit_of_work() as uow:
        if key is not None:
            existing = replay(uow.session, key)
            if existing is not None:
                response = json_response(existing.body, 201)
                response.headers[REPLAYED_HEADER] = "true"
                if existing.location:
                    response.headers["Location"] = existing.location
                return response
        created = work(uow.session, key)
        uow.commit()
    response = json_response(created.body, created.status)
    if created.location:
        response.headers["Location"] = created.location
    return response
