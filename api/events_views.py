"""Carbon-neutral events: an organiser registers an event sized by the event calculator, orders its
offset, and the event has a public record.

- ``POST /events`` (``event_organiser`` key): name, dates, place, optional county, attendees, and under
  ``footprint`` the event calculator's activities exactly as ``POST /footprints/event`` takes them (without
  ``attendees`` and ``days``, which come from the event). The calculator's answer is stored with the event.
- ``GET /events/<id>``: the organiser's keys and the registry; anyone else gets a 404.
- ``POST /events/<id>/orders`` (the organiser's own key): an event order for the event's footprint, or an
  explicit ``quantity_kg`` (≥ 1 kg), retired in the event's name when paid.
- ``GET /public/events/<id>``: public — name, dates, place, footprint, kilograms offset, certificates, and
  whether the event is carbon neutral (碳中和: retired ≥ footprint).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, url_for
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import require_key
from api.blueprint import api_blueprint as bp
from api.context import database
from api.footprints_views import (
    EventFootprintRequestSchema,
    FootprintBreakdownSchema,
    event_inputs,
)
from api.idempotency import Created, run_creating
from api.openapi import document
from api.orders_views import EVENT_ORGANISER, OrderSourcingSchema, order_document
from api.quotes_views import require_buyer_key
from api.responses import json_response
from api.schemas_offsets import Kilograms, Strict, load_body
from ledger.replica_reads import read_published
from marketplace import events, order_store, quotes
from marketplace.journey_models import CarbonNeutralEvent
from marketplace.lots import LotFilters
from marketplace.models import MarketOrder
from offsets import footprints
from offsets.errors import NotFound
from offsets.lifecycle import Role
from offsets.models import Organisation

READER_ROLES = (EVENT_ORGANISER, Role.REGISTRY_ADMIN.value, Role.REVIEWER.value)
FROM_THE_EVENT = ("attendees", "days")


class EventCreateSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=events.MAX_NAME_CHARS))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=events.MAX_PLACE_CHARS))
    county_code = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$"))
    attendees = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=events.MAX_ATTENDEES)
    )
    footprint = fields.Dict(
        load_default=dict,
        metadata={"description": "the activities of POST /footprints/event, without attendees and days"},
    )


class EventOrderCreateSchema(Strict):
    quantity_kg = Kilograms(load_default=None, validate=validate.Range(min=1, max=10**12))
    """Default: the event's footprint in whole kg."""
    sourcing = fields.Nested(OrderSourcingSchema, load_default=None)
    quote_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class EventFootprintSchema(FootprintBreakdownSchema):
    calculator_input = fields.Dict(
        metadata={
            "description": "the calculator's input as registered (the event's attendees and days included)"
        }
    )


class EventOrderSummarySchema(Schema):
    id = fields.String()
    state = fields.String()
    quantity_kg = fields.Integer()
    price_fen = fields.Integer()


class CarbonNeutralEventSchema(Schema):
    id = fields.Integer()
    organisation_id = fields.Integer()
    name = fields.String()
    starts_on = fields.String()
    ends_on = fields.String()
    place = fields.String()
    county_code = fields.String(allow_none=True)
    attendees = fields.Integer()
    footprint = fields.Nested(EventFootprintSchema)
    orders = fields.List(fields.Nested(EventOrderSummarySchema))
    public_record = fields.Nested(
        "PublicEventSchema", metadata={"description": "what the public event page shows of it"}
    )


class PublicEventSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    organiser = fields.String()
    starts_on = fields.String()
    ends_on = fields.String()
    place = fields.String()
    county_code = fields.String(allow_none=True)
    footprint_kg = fields.Integer()
    offset_kg = fields.Integer()
    certificate_ids = fields.List(fields.String())
    carbon_neutral = fields.Boolean(metadata={"description": "碳中和: retired kg ≥ footprint kg"})


@bp.post("/events")
@document(
    "Register an event, sized by the event calculator (2019 large-event guideline categories)",
    body="EventCreateSchema",
    response="CarbonNeutralEventSchema",
    status=201,
    roles=(EVENT_ORGANISER,),
    tag="marketplace",
)
def create_event() -> Response:
    principal = require_buyer_key(EVENT_ORGANISER)
    body = load_body(EventCreateSchema())
    details = events.EventDetails(
        name=body["name"],
        starts_on=body["starts_on"],
        ends_on=body["ends_on"],
        place=body["place"],
        attendees=body["attendees"],
        county_code=body["county_code"],
    )
    details.validate()
    calculator_input = body["footprint"]
    activities = _event_inputs(calculator_input, details)
    now = datetime.now(UTC)

    def work(session: Session) -> Created:
        event = events.register_event(
            session,
            organisation_id=principal.organisation_id,
            details=details,
            activities=activities,
            calculator_input=calculator_input,
            factors=footprints.packaged(),
            now=now,
        )
        return Created(event_document(session, event), location=url_for("api.get_event", event_id=event.id))

    return run_creating(principal, work)


@bp.get("/events/<id:event_id>")
@document(
    "An event with its sizing and orders: the organiser's keys and the registry",
    response="CarbonNeutralEventSchema",
    roles=READER_ROLES,
    tag="marketplace",
)
def get_event(event_id: int) -> Response:
    principal = require_key()
    with database().reading() as session:
        event = events.visible_event(
            session, event_id, None if principal.is_registry else principal.organisation_id
        )
        return json_response(event_document(session, event), 200)


@bp.post("/events/<id:event_id>/orders")
@document(
    "Order the event's offset: its footprint in kg (or quantity_kg), retired in the event's name when paid",
    body="EventOrderCreateSchema",
    response="OrderSchema",
    status=201,
    roles=(EVENT_ORGANISER,),
    tag="marketplace",
)
def place_event_order(event_id: int) -> Response:
    principal = require_buyer_key(EVENT_ORGANISER)
    body = load_body(EventOrderCreateSchema())
    if body["quote_id"] is not None and body["sourcing"] is not None:
        raise ValidationError({"sourcing": ["the quote fixes the sourcing; leave it out"]})
    ttl_s = int(current_app.config.get("TANHUI_RESERVATION_TTL_S", order_store.DEFAULT_RESERVATION_TTL_S))
    now = datetime.now(UTC)

    def work(session: Session) -> Created:
        event = events.visible_event(session, event_id, principal.organisation_id)
        filters = LotFilters(**(body["sourcing"] or {}))
        if body["quote_id"] is not None:
            filters = quotes.filters_of(
                quotes.visible_quote(session, body["quote_id"], principal.organisation_id)
            )
        organiser = session.get(Organisation, principal.organisation_id)
        assert organiser is not None
        row = events.place_event_order(
            session,
            event,
            buyer_display_name=organiser.name,
            quantity_kg=body["quantity_kg"],
            filters=filters,
            now=now,
            ttl_s=ttl_s,
            quote_id=body["quote_id"],
        )
        return Created(order_document(session, row), location=url_for("api.get_order", order_id=row.id))

    return run_creating(principal, work)


@bp.get("/public/events/<id:event_id>")
@document(
    "An event's public record: footprint, kilograms offset, certificates and whether it is carbon neutral",
    response="PublicEventSchema",
    tag="marketplace",
)
def get_public_event(event_id: int) -> Response:
    document = read_published(
        database(),
        lambda session: public_event_document(events.public_record(session, event_id)),
        absent=(NotFound,),  # an event the read replica does not hold yet is read on the primary
    )
    return json_response(document, 200)


def _event_inputs(given: dict[str, Any], details: events.EventDetails) -> footprints.EventInputs:
    """The calculator's inputs: the footprint activities, checked by the calculator API's own schema."""
    for name in FROM_THE_EVENT:
        if name in given:
            raise ValidationError({"footprint": {name: ["comes from the event; leave it out"]}})
    try:
        loaded = EventFootprintRequestSchema().load(
            {**given, "attendees": details.attendees, "days": details.days}
        )
    except ValidationError as error:
        raise ValidationError({"footprint": error.messages}) from error
    return event_inputs(loaded)


def event_document(session: Session, event: CarbonNeutralEvent) -> dict[str, Any]:
    orders = session.execute(
        select(MarketOrder.id, MarketOrder.state, MarketOrder.quantity_kg, MarketOrder.price_fen)
        .where(MarketOrder.event_id == event.id)
        .order_by(MarketOrder.placed_at, MarketOrder.id)
    ).all()
    breakdown = json.loads(event.breakdown)
    return {
        "id": event.id,
        "organisation_id": event.organisation_id,
        "name": event.name,
        "starts_on": event.starts_on.isoformat(),
        "ends_on": event.ends_on.isoformat(),
        "place": event.place,
        "county_code": event.county_code,
        "attendees": event.attendees,
        "footprint": {
            "factor_set_version": event.factor_set_version,
            "total_kg": event.footprint_total_kg,
            "offset_kg": event.footprint_kg,
            "categories": breakdown["categories"],
            "lines": breakdown["lines"],
            "calculator_input": json.loads(event.calculator_input),
        },
        "orders": [
            {"id": order_id, "state": state, "quantity_kg": quantity_kg, "price_fen": price_fen}
            for order_id, state, quantity_kg, price_fen in orders
        ],
        "public_record": public_event_document(events.public_record(session, event.id)),
    }


def public_event_document(record: events.PublicEventRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "organiser": record.organiser_name,
        "starts_on": record.starts_on.isoformat(),
        "ends_on": record.ends_on.isoformat(),
        "place": record.place,
        "county_code": record.county_code,
        "footprint_kg": record.footprint_kg,
        "offset_kg": record.offset_kg,
        "certificate_ids": list(record.certificate_ids),
        "carbon_neutral": record.carbon_neutral,
    }
