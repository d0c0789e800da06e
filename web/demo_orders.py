"""Demo orders through the marketplace's own journeys, so that the demo registry has certificates to show.

The retirements of :mod:`web.demo` are ledger entries only; a certificate exists only where a buyer's
journey produced it. Here an individual buys micro carbon sinks (for themselves, privately, and as a
gift), an organiser makes an event carbon-neutral, and an enterprise buys credits and retires them for a
compliance period: each through the domain services the API and pages use, paid by the offline invoice
provider (the registry confirms the transfer), with one order left reserved and unpaid. The names and
figures are fictional (示例).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import User
from ledger.service import LedgerService
from marketplace import events, order_store
from marketplace.compliance import ComplianceRetirement, retire_for_compliance
from marketplace.lots import LotFilters
from marketplace.models import MarketOrder
from marketplace.orders import OrderKind
from offsets import footprints
from offsets.models import Organisation

INDIVIDUAL_EMAIL = "wang@demo.tanhui.cn"
"""The demo individual (web.demo.DEMO_USERS) whose order history shows the micro-sink orders."""


@dataclass(frozen=True)
class MicroSinkOrder:
    beneficiary: str
    public: bool
    quantity_kg: int
    gift_message: str | None = None
    poverty_area_only: bool = False
    paid: bool = True


MICRO_SINK_ORDERS = (
    MicroSinkOrder("王示例", public=True, quantity_kg=1_200, poverty_area_only=True),
    MicroSinkOrder("王示例", public=False, quantity_kg=350),
    MicroSinkOrder("王小示例", public=True, quantity_kg=100, gift_message="生日快乐：一百千克川西林草碳汇"),
    MicroSinkOrder("王示例", public=True, quantity_kg=500, paid=False),
)
EVENT = events.EventDetails(
    name="2026 川南竹林示例音乐节",
    starts_on=date(2026, 5, 1),
    ends_on=date(2026, 5, 3),
    place="宜宾示例竹海景区",
    attendees=3_000,
    county_code=None,
)
EVENT_MEASURED_KG = {"transport": "18500.5", "accommodation_catering": "6200"}
"""The organiser's own (fictional) measured totals: the event calculator's measured categories."""
ENTERPRISE_ORDER_KG = 5_000
COMPLIANCE_RETIREMENT_KG = 3_000


def place_demo_orders(service: LedgerService, *, enterprise_id: int, organiser_id: int, seed: int) -> int:
    """Place, pay and fulfil the demo orders; returns the number of certificates they produced."""
    now = datetime.now(UTC)
    with service.database.unit_of_work() as uow:
        session = uow.session
        enterprise, organiser = (
            session.get_one(Organisation, enterprise_id),
            session.get_one(Organisation, organiser_id),
        )
        individual = session.scalar(select(User.id).where(User.email == INDIVIDUAL_EMAIL))
        orders = [
            (_micro_sink_order(session, order, individual, now), order.paid) for order in MICRO_SINK_ORDERS
        ]
        orders.append((_event_order(session, organiser, now), True))
        orders.append((_enterprise_order(session, enterprise, now), True))
        buyer_account = enterprise.ledger_account_id
        for index, (row, paid) in enumerate(orders):
            if paid:
                order_store.record_invoice_payment(
                    session,
                    service.sequencer,
                    row,
                    reference=f"DEMO-{seed}-{index + 1:02d}",
                    amount_fen=row.price_fen,
                    now=now,
                    ledger_account_of_buyer=buyer_account if row.kind == OrderKind.ENTERPRISE else None,
                )
        retire_for_compliance(
            session,
            service.sequencer,
            organisation_id=enterprise.id,
            request=ComplianceRetirement("2025 年度履约 / compliance year 2025", COMPLIANCE_RETIREMENT_KG),
            request_key=f"demo-{seed}:compliance",
            now=now,
        )
        uow.commit()
    # Every paid order retired but the enterprise's (a transfer into its account); the enterprise retired too.
    return sum(paid and row.kind != OrderKind.ENTERPRISE for row, paid in orders) + 1


def _micro_sink_order(
    session: Session, order: MicroSinkOrder, user_id: int | None, now: datetime
) -> MarketOrder:
    return order_store.place_and_reserve(
        session,
        order_store.NewOrder(
            kind=OrderKind.INDIVIDUAL,
            quantity_kg=order.quantity_kg,
            buyer_organisation_id=None,
            buyer_display_name="王示例",
            beneficiary_name=order.beneficiary,
            beneficiary_public=order.public,
            reason="gift" if order.gift_message else order_store.REASON_BY_KIND[OrderKind.INDIVIDUAL],
            details="",
            filters=LotFilters(poverty_area_only=order.poverty_area_only, prefer_poverty_area=True),
            gift_message=order.gift_message,
            user_id=user_id,
        ),
        now=now,
    )


def _event_order(session: Session, organiser: Organisation, now: datetime) -> MarketOrder:
    measured = {category: Decimal(kg) for category, kg in EVENT_MEASURED_KG.items()}
    event = events.register_event(
        session,
        organisation_id=organiser.id,
        details=EVENT,
        activities=footprints.EventInputs(attendees=EVENT.attendees, days=EVENT.days, measured_kg=measured),
        calculator_input={"measured_kg": EVENT_MEASURED_KG},
        factors=footprints.packaged(),
        now=now,
    )
    return events.place_event_order(
        session,
        event,
        buyer_display_name=organiser.name,
        quantity_kg=None,
        filters=LotFilters(prefer_poverty_area=True),
        now=now,
        ttl_s=order_store.DEFAULT_RESERVATION_TTL_S,
    )


def _enterprise_order(session: Session, enterprise: Organisation, now: datetime) -> MarketOrder:
    return order_store.place_and_reserve(
        session,
        order_store.NewOrder(
            kind=OrderKind.ENTERPRISE,
            quantity_kg=ENTERPRISE_ORDER_KG,
            buyer_organisation_id=enterprise.id,
            buyer_display_name=enterprise.name,
            beneficiary_name=enterprise.name,
            beneficiary_public=True,
            reason=order_store.REASON_BY_KIND[OrderKind.ENTERPRISE],
            details="2025 年度履约 / compliance year 2025",
            filters=LotFilters(poverty_area_only=True),
        ),
        now=now,
    )
