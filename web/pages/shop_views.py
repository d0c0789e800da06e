"""The micro-sink (微碳汇) shop: the personal calculator, the purchase form, the order page and demo payment.

Placing an order is exactly what ``POST /api/v1/orders`` does for an individual
(:func:`marketplace.order_store.place_and_reserve` in one unit of work); the form's one-time
``request_key`` plays the Idempotency-Key (kept on the order as ``anonymous_idempotency_key``), so a form
submitted twice shows the first order. An individual's order is shown to whoever holds its unguessable
id, as in the API. With ``TANHUI_DEMO_PAYMENTS`` the order page offers a "pay (demo)" button that records
an offline invoice payment (:func:`marketplace.order_store.record_invoice_payment`), which fulfils it;
otherwise it shows the bank-transfer instructions. When the registry pays with Stripe
(``TANHUI_PAYMENT_PROVIDER=stripe``), the page opens a PaymentIntent for the order
(:func:`marketplace.payments.settlement.start_payment`, the same one ``POST /api/v1/orders/<id>/payments``
opens) and mounts Stripe's Payment Element (card, Alipay, WeChat Pay); the signed webhook then fulfils
the order, and the page, reloaded, shows its certificate.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from api.context import database, ledger_service
from api.users import INDIVIDUAL
from marketplace import order_store
from marketplace.lots import InsufficientStock, LotError, LotFilters, TooManyLots
from marketplace.models import Certificate, MarketOrder
from marketplace.money import MoneyError
from marketplace.orders import OrderError, OrderKind, OrderState
from marketplace.payments import settlement
from marketplace.payments.provider import PaymentProviderError
from offsets import footprints
from offsets.errors import OffsetsError
from web.pages import pages_blueprint as bp
from web.pages.order_notes import shown_lines, shown_note
from web.pages.refusals import Refusal, refusal_of
from web.pages.shop_form import FIELDS, Purchase, read_purchase, read_quantity_kg
from web.pages.sign_in import signed_in_user

ANONYMOUS = "匿名"
GIFT_REASON = "gift"
MAX_ORDER_ID_CHARS = 64
DEMO_REFERENCE_PREFIX = "DEMO-"
DEFAULT_STRIPE_JS_URL = "https://js.stripe.com/v3/"
CALCULATOR_FIELDS = ("electricity_kwh", "high_speed_rail_km", "flight_km", "natural_gas_m3")
CALCULATOR_LIMITS = {
    "electricity_kwh": Decimal(1_000_000),
    "high_speed_rail_km": Decimal(1_000_000),
    "flight_km": Decimal(1_000_000),
    "natural_gas_m3": Decimal(100_000),
}
"""The API's plausibility limits (``api.footprints_views``): larger values are typing errors."""
MAX_FRACTION_DIGITS = 6


def _new_key() -> str:
    return secrets.token_urlsafe(24)


# --- the personal calculator ----------------------------------------------------------------------------


def _read_amount(text: str, maximum: Decimal) -> tuple[Decimal | None, str | None]:
    text = text.strip().replace(",", "")
    if not text:
        return None, None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, "number"
    exponent = value.as_tuple().exponent
    problem = None
    if not value.is_finite() or not isinstance(exponent, int):
        problem = "number"
    elif value < 0:
        problem = "not_negative"
    elif value > maximum:
        problem = "too_large"
    elif -exponent > MAX_FRACTION_DIGITS:
        problem = "too_precise"
    return (None, problem) if problem else (value, None)


@bp.get("/shop/calculator")
def calculator() -> tuple[str, int] | str:
    values = {name: request.args.get(name, "") for name in CALCULATOR_FIELDS}
    if not any(values.values()):
        return render_template("calculator.html", values=values, errors={}, result=None)
    amounts: dict[str, Decimal | None] = {}
    errors: dict[str, str] = {}
    for name in CALCULATOR_FIELDS:
        amounts[name], problem = _read_amount(values[name], CALCULATOR_LIMITS[name])
        if problem:
            errors[name] = problem
    if not errors:
        inputs = footprints.PersonalInputs(
            electricity_kwh=amounts["electricity_kwh"] or Decimal(0),
            high_speed_rail_km=amounts["high_speed_rail_km"] or Decimal(0),
            flight_km=amounts["flight_km"] or Decimal(0),
            natural_gas_m3=amounts["natural_gas_m3"],
        )
        try:
            result = footprints.personal(inputs, footprints.packaged())
        except OffsetsError as error:
            errors[getattr(error, "field", None) or "electricity_kwh"] = "no_factor"
        else:
            return render_template("calculator.html", values=values, errors={}, result=result.as_dict())
    return render_template("calculator.html", values=values, errors=errors, result=None), 422


# --- the purchase form ----------------------------------------------------------------------------------


def _shop_form(
    values: dict[str, str], errors: dict[str, str], status: int = 200, refusal: Refusal | None = None
) -> tuple[str, int]:
    values = {**values, "request_key": values.get("request_key") or _new_key()}
    return render_template("shop.html", values=values, errors=errors, refusal=refusal), status


@bp.get("/shop")
def shop() -> tuple[str, int]:
    values = dict.fromkeys(FIELDS, "")
    prefill = request.args.get("quantity_kg", "")
    if prefill and read_quantity_kg(prefill)[1] is None:
        values["quantity_kg"] = prefill
    return _shop_form(values, {})


def _new_order(purchase: Purchase) -> order_store.NewOrder:
    return order_store.NewOrder(
        kind=OrderKind.INDIVIDUAL,
        quantity_kg=purchase.quantity_kg,
        buyer_organisation_id=None,
        buyer_display_name=purchase.display_name or ANONYMOUS,
        beneficiary_name=purchase.name,
        beneficiary_public=purchase.public,
        reason=GIFT_REASON if purchase.gift else order_store.REASON_BY_KIND[OrderKind.INDIVIDUAL],
        details="",
        # Poverty-area lots first (the policy's 扶贫 sourcing); "only" excludes the others.
        filters=LotFilters(poverty_area_only=purchase.poverty_area_only, prefer_poverty_area=True),
        anonymous_idempotency_key=purchase.request_key,
        gift_message=purchase.gift_message if purchase.gift else None,
        user_id=_signed_in_individual(),
    )


def _signed_in_individual() -> int | None:
    """The signed-in individual's user id, so that the order appears in their history; ``None`` for
    anyone else (an organisation's user buys through its own journeys, not the micro-sink shop)."""
    user = signed_in_user()
    return user.id if user is not None and user.role == INDIVIDUAL else None


def _order_with_key(session: Session, key: str | None) -> str | None:
    if key is None:
        return None
    return session.scalar(select(MarketOrder.id).where(MarketOrder.anonymous_idempotency_key == key))


@bp.post("/shop")
def place_order() -> Response | tuple[str, int]:
    values = {name: request.form.get(name, "") for name in FIELDS}
    purchase, errors = read_purchase(request.form)
    if purchase is None:
        return _shop_form(values, errors, 422)
    now = datetime.now(UTC)
    ttl_s = int(current_app.config.get("TANHUI_RESERVATION_TTL_S", order_store.DEFAULT_RESERVATION_TTL_S))
    try:
        with database().unit_of_work() as uow:
            order_id = _order_with_key(uow.session, purchase.request_key)
            if order_id is None:
                order_id = order_store.place_and_reserve(
                    uow.session, _new_order(purchase), now=now, ttl_s=ttl_s
                ).id
                uow.commit()
    except InsufficientStock:
        return _shop_form(values, {"quantity_kg": "insufficient_stock"}, 409)
    except TooManyLots:
        return _shop_form(values, {"quantity_kg": "too_many_lots"}, 422)
    except (LotError, MoneyError, OrderError) as error:
        field = error.field if error.field in FIELDS else "quantity_kg"
        return _shop_form(values, {field: "refused"}, 422, refusal_of(error))
    except IntegrityError:
        # The same form submitted twice at once: the other request placed the order; show that one.
        with database().reading() as session:
            order_id = _order_with_key(session, purchase.request_key)
        if order_id is None:
            raise
    return redirect(url_for("pages.order", order_id=order_id), code=303)


# --- the order page and demo payment --------------------------------------------------------------------


def _individual_order(session: Session, order_id: str) -> MarketOrder:
    """An individual's order by its id; anything else is a 404, as in the API (no hint it exists)."""
    row = session.get(MarketOrder, order_id) if len(order_id) <= MAX_ORDER_ID_CHARS else None
    if row is None or row.buyer_organisation_id is not None:
        abort(404)
    return row


def _order_view(session: Session, row: MarketOrder) -> dict[str, Any]:
    order = order_store.load(session, row)
    reservation = order.reservation
    return {
        "id": row.id,
        "state": row.state,
        "quantity_kg": row.quantity_kg,
        "price_fen": row.price_fen,
        "paid_fen": order.paid_fen,
        "beneficiary_name": row.beneficiary_name,
        "beneficiary_public": row.beneficiary_public,
        "display_name": row.buyer_display_name,
        "reason": row.reason,
        "gift_message": row.gift_message,
        "explanation": shown_lines(row.allocation_explanation),
        "holds": list(reservation.holds) if reservation else [],
        "expires_at": reservation.expires_at if reservation and order.holds_stock else None,
        "events": [
            {
                "at": event.at,
                "state": event.target.value,
                "cause": event.cause.value,
                "paid_fen": event.paid_fen,
                "refunded_fen": event.refunded_fen,
                "note": shown_note(event.detail) if event.detail else None,
            }
            for event in order.events
        ],
        "certificate_id": session.scalar(select(Certificate.id).where(Certificate.order_id == row.id)),
        "payable": row.state == OrderState.RESERVED.value,
    }


def _order_page(
    order_id: str,
    refusal: Refusal | None = None,
    status: int = 200,
    card_payment: dict[str, Any] | None = None,
) -> tuple[str, int]:
    with database().reading() as session:
        view = _order_view(session, _individual_order(session, order_id))
    return (
        render_template(
            "order.html",
            order=view,
            demo_payments=bool(current_app.config.get("TANHUI_DEMO_PAYMENTS")),
            card_payments=_stripe_configured(),
            card_payment=card_payment,
            payment_reference=DEMO_REFERENCE_PREFIX + secrets.token_hex(8).upper(),
            refusal=refusal,
        ),
        status,
    )


def _stripe_configured() -> bool:
    return current_app.config.get("TANHUI_PAYMENT_PROVIDER") == "stripe" and bool(
        current_app.config.get("STRIPE_SECRET_KEY")
    )


@bp.post("/orders/<order_id>/card-payment")
def pay_by_card(order_id: str) -> tuple[str, int]:
    """Open (or reopen) the order's PaymentIntent and show Stripe's Payment Element for it."""
    if not _stripe_configured():
        abort(404)
    from api.payments_views import payment_providers

    provider = payment_providers()["stripe"]
    try:
        with database().unit_of_work() as uow:
            start = settlement.start_payment(
                uow.session, provider, _individual_order(uow.session, order_id), now=datetime.now(UTC)
            )
            uow.commit()
    except OrderError as error:
        return _order_page(order_id, refusal=refusal_of(error), status=409)
    except PaymentProviderError as error:
        return _order_page(order_id, refusal=refusal_of(error), status=503)
    card_payment = {
        "client_secret": start.started.client_secret,
        "publishable_key": getattr(provider, "publishable_key", None),
        "js_url": current_app.config.get("STRIPE_JS_URL") or DEFAULT_STRIPE_JS_URL,
        "return_url": url_for("pages.order", order_id=order_id, _external=True),
    }
    return _order_page(order_id, card_payment=card_payment)


@bp.get("/orders/<order_id>")
def order(order_id: str) -> tuple[str, int]:
    return _order_page(order_id)


@bp.post("/orders/<order_id>/demo-payment")
def pay_demo(order_id: str) -> Response | tuple[str, int]:
    """Record a demo payment as an offline invoice payment; idempotent on the form's reference."""
    if not current_app.config.get("TANHUI_DEMO_PAYMENTS"):
        abort(404)
    reference = request.form.get("reference", "")
    if not reference.startswith(DEMO_REFERENCE_PREFIX) or not reference[5:].isalnum() or len(reference) > 40:
        reference = DEMO_REFERENCE_PREFIX + secrets.token_hex(8).upper()
    service = ledger_service()
    try:
        with database().unit_of_work() as uow:
            row = _individual_order(uow.session, order_id)
            order_store.record_invoice_payment(
                uow.session,
                service.sequencer,
                row,
                reference=reference,
                amount_fen=row.price_fen,
                now=datetime.now(UTC),
                ledger_account_of_buyer=None,
            )
            uow.commit()
    except OrderError as error:
        return _order_page(order_id, refusal=refusal_of(error), status=409)
    return redirect(url_for("pages.order", order_id=order_id), code=303)
