"""Carbon-neutral events (大型活动碳中和): an organiser's event, sized by the event calculator, offset by
orders retired in the event's name, and its public record.

An event is registered with its name, dates, place (and optionally its county), attendees and the
activities the event calculator of :mod:`offsets.footprints` takes; the calculator runs once, at
registration, and its input, factor-set version, breakdown by the 2019 guideline's categories
(生态环境部《大型活动碳中和实施指南（试行）》) and whole kilograms to offset (rounded up) are stored with the
event. An event order (:func:`place_event_order`) is an ordinary :class:`~marketplace.orders.OrderKind`
``event`` order for those kilograms (or an explicit quantity), whose beneficiary is the event's name —
public, as events are — and whose details name its dates and place, so that the ledger entry and the
certificate name the event. The event is carbon neutral (碳中和) once its fulfilled orders have retired at
least its footprint (the guideline's offsetting requirement: offset amount ≥ emissions).

Functions take the caller's session and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import limits
from ledger.value_checks import check_text
from marketplace import order_store
from marketplace.journey_models import CarbonNeutralEvent
from marketplace.lots import LotFilters
from marketplace.models import Certificate, MarketOrder
from marketplace.orders import OrderKind, OrderState
from offsets import footprints, regions
from offsets.errors import Conflict, InvalidInput, NotFound
from offsets.models import Organisation

MAX_NAME_CHARS = 200
MAX_PLACE_CHARS = 200
MAX_EVENT_DAYS = 366
MAX_ATTENDEES = 10_000_000
EVENT_REASON = "event"


@dataclass(frozen=True)
class EventDetails:
    name: str
    starts_on: date
    ends_on: date
    place: str
    attendees: int
    county_code: str | None = None

    @property
    def days(self) -> int:
        """Calendar days, both ends included: what the event calculator calls ``days``."""
        return (self.ends_on - self.starts_on).days + 1

    def validate(self) -> None:
        check_text(self.name, "name", MAX_NAME_CHARS, required=True)
        check_text(self.place, "place", MAX_PLACE_CHARS, required=True)
        if self.ends_on < self.starts_on:
            raise InvalidInput("the event ends before it starts", field="ends_on")
        if self.days > MAX_EVENT_DAYS:
            raise InvalidInput(f"an event lasts at most {MAX_EVENT_DAYS} days", field="ends_on")
        if isinstance(self.attendees, bool) or not 1 <= self.attendees <= MAX_ATTENDEES:
            raise InvalidInput(f"must be 1 to {MAX_ATTENDEES}", field="attendees")
        if self.county_code is not None:
            try:
                division = regions.division(self.county_code)
            except regions.UnknownRegion as error:
                raise InvalidInput(f"no county {self.county_code} in Sichuan", field="county_code") from error
            if division.level != "county":
                raise InvalidInput(
                    f"{self.county_code} is a {division.level}, not a county", field="county_code"
                )


def register_event(
    session: Session,
    *,
    organisation_id: int,
    details: EventDetails,
    activities: footprints.EventInputs,
    calculator_input: Mapping[str, Any],
    factors: footprints.FactorSet,
    now: datetime,
) -> CarbonNeutralEvent:
    """Size the event with the event calculator and record it for the organiser.

    ``activities`` carry the event's attendees and days; ``calculator_input`` is the JSON the caller sent
    for them, stored as given so that anyone can run the calculator again on the same input.
    """
    details.validate()
    assert (activities.attendees, activities.days) == (details.attendees, details.days), activities
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"no organisation {organisation_id}", field="organisation_id")
    if organisation.kind != "organiser":
        raise Conflict("only an event organiser registers events", field="organisation_id")
    result = footprints.event(activities, factors)
    if result.offset_kg < 1:
        raise InvalidInput(
            "the activities add up to 0 kg CO2e; give the event's activities", field="footprint"
        )
    summary = result.as_dict()
    event = CarbonNeutralEvent(
        organisation_id=organisation_id,
        name=details.name.strip(),
        starts_on=details.starts_on,
        ends_on=details.ends_on,
        place=details.place.strip(),
        county_code=details.county_code,
        attendees=details.attendees,
        calculator_input=json.dumps(
            {**calculator_input, "attendees": details.attendees, "days": details.days},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        factor_set_version=result.factor_set_version,
        footprint_total_kg=summary["total_kg"],
        footprint_kg=result.offset_kg,
        breakdown=json.dumps(
            {"categories": summary["categories"], "lines": summary["lines"]}, ensure_ascii=False
        ),
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


def visible_event(session: Session, event_id: int, organisation_id: int | None) -> CarbonNeutralEvent:
    """The event, if ``organisation_id`` organises it (``None``: the registry, which sees all); else a 404."""
    event = session.get(CarbonNeutralEvent, event_id)
    if event is None or (organisation_id is not None and event.organisation_id != organisation_id):
        raise NotFound(f"no event {event_id}", field="event_id")
    return event


def event_details_text(event: CarbonNeutralEvent) -> str:
    """What the ledger entry and certificate say about the event: its name, dates and place."""
    text = (
        f"{event.name}，{event.starts_on.isoformat()}至{event.ends_on.isoformat()}，{event.place}"
        f" / {event.name}, {event.starts_on.isoformat()} to {event.ends_on.isoformat()}, {event.place}"
    )
    assert len(text) <= limits.MAX_DETAILS_CHARS
    return text


def place_event_order(
    session: Session,
    event: CarbonNeutralEvent,
    *,
    buyer_display_name: str,
    quantity_kg: int | None,
    filters: LotFilters,
    now: datetime,
    ttl_s: int,
    quote_id: str | None = None,
) -> MarketOrder:
    """An event order for the event's footprint (or ``quantity_kg``), retired in the event's name."""
    return order_store.place_and_reserve(
        session,
        order_store.NewOrder(
            kind=OrderKind.EVENT,
            quantity_kg=event.footprint_kg if quantity_kg is None else quantity_kg,
            buyer_organisation_id=event.organisation_id,
            buyer_display_name=buyer_display_name,
            beneficiary_name=event.name,
            beneficiary_public=True,
            reason=EVENT_REASON,
            details=event_details_text(event),
            filters=filters,
            quote_id=quote_id,
            event_id=event.id,
        ),
        now=now,
        ttl_s=ttl_s,
    )


@dataclass(frozen=True)
class PublicEventRecord:
    """What anyone may see of an event (events are public, issue 5), detached from the session."""

    id: int
    name: str
    organiser_name: str
    starts_on: date
    ends_on: date
    place: str
    county_code: str | None
    footprint_kg: int
    offset_kg: int
    """Kilograms retired in the event's name by its fulfilled orders."""
    certificate_ids: tuple[str, ...]

    @property
    def carbon_neutral(self) -> bool:
        """碳中和 achieved: at least the footprint has been retired."""
        return self.offset_kg >= self.footprint_kg


def public_record(session: Session, event_id: int) -> PublicEventRecord:
    event = session.get(CarbonNeutralEvent, event_id)
    if event is None:
        raise NotFound(f"no event {event_id}", field="event_id")
    organiser_name = session.scalar(select(Organisation.name).where(Organisation.id == event.organisation_id))
    assert organiser_name is not None
    retired = session.execute(
        select(Certificate.id, MarketOrder.quantity_kg)
        .join(MarketOrder, Certificate.order_id == MarketOrder.id)
        .where(MarketOrder.event_id == event.id, MarketOrder.state == OrderState.FULFILLED.value)
        .order_by(Certificate.created_at, Certificate.id)
    ).all()
    return PublicEventRecord(
        id=event.id,
        name=event.name,
        organiser_name=organiser_name,
        starts_on=event.starts_on,
        ends_on=event.ends_on,
        place=event.place,
        county_code=event.county_code,
        footprint_kg=event.footprint_kg,
        offset_kg=sum(quantity for _, quantity in retired),
        certificate_ids=tuple(certificate_id for certificate_id, _ in retired),
    )
