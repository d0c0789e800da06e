"""Payments: starting one for an order, Stripe's webhook, and refunds before fulfilment.

The views parse, authenticate, run one unit of work around one :mod:`marketplace.payments.settlement`
function and dump; calls at the provider that follow a decision (refunds owed, an intent to cancel) run
after the commit (settlement.py explains the outbox). Who may act on an order is what
:func:`api.orders_views.visible_order` says — its buyer's keys, the registry, or for an individual's order
its id — and a refund further needs, from the registry, the role ``registry_admin``.

The providers are built once per app from its configuration: the offline invoice provider always, Stripe
when ``STRIPE_SECRET_KEY`` is set (``STRIPE_API_BASE`` points it at an emulator, ``STRIPE_PUBLISHABLE_KEY``
is handed to the browser, ``STRIPE_PAYMENT_METHOD_TYPES`` — comma-separated — overrides card, alipay and
wechat_pay). ``TANHUI_PAYMENT_PROVIDER`` names the one a payment uses unless the request names another.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal, optional_principal
from api.blueprint import api_blueprint as bp
from api.context import database, ledger_service
from api.idempotency import Created, run_creating
from api.openapi import document
from api.orders_views import OrderSchema, order_document, visible_order
from api.problems import problem
from api.responses import json_response
from api.schemas_offsets import Strict, load_body
from marketplace.payments import refunds, settlement
from marketplace.payments.invoice import InvoiceProvider
from marketplace.payments.models import PaymentRefund
from marketplace.payments.provider import PaymentProvider, PaymentProviderError
from marketplace.payments.stripe_provider import DEFAULT_PAYMENT_METHOD_TYPES, StripeProvider, WebhookRefused
from marketplace.payments.stripe_provider import verify_webhook as verify_stripe_webhook
from offsets.errors import Forbidden
from offsets.lifecycle import Role

PAYMENTS_EXTENSION = "tanhui.payments"
MAX_WEBHOOK_BYTES = 512 * 1024
"""Stripe's events are a few kilobytes; anything much larger is not one."""
log = logging.getLogger(__name__)


# --- schemas --------------------------------------------------------------------------------------------


class PaymentStartSchema(Strict):
    provider = fields.String(load_default=None, validate=validate.OneOf(["stripe", "invoice"]))
    """The provider to pay with; the registry's default (``TANHUI_PAYMENT_PROVIDER``) if left out."""


class PaymentSchema(Schema):
    order_id = fields.String()
    provider = fields.String()
    payment_id = fields.String()
    amount_fen = fields.Integer()
    currency = fields.String()
    status = fields.String()
    client_secret = fields.String(allow_none=True, metadata={"description": "for Stripe.js confirmPayment"})
    publishable_key = fields.String(allow_none=True)
    payment_method_types = fields.List(fields.String())
    instructions = fields.String(allow_none=True, metadata={"description": "the bank transfer, for invoices"})


class RefundCreateSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class RefundSchema(Schema):
    request_id = fields.String()
    status = fields.String(metadata={"description": "pending, succeeded (at the provider), manual or failed"})
    provider_refund_id = fields.String(allow_none=True)
    amount_fen = fields.Integer()
    reason = fields.String()


class OrderRefundSchema(Schema):
    order = fields.Nested(OrderSchema)
    refunds = fields.List(fields.Nested(RefundSchema))


class WebhookReceiptSchema(Schema):
    received = fields.Boolean()
    replayed = fields.Boolean()
    outcome = fields.String()
    order_id = fields.String(allow_none=True)
    order_state = fields.String(allow_none=True)


# --- errors ---------------------------------------------------------------------------------------------


@bp.errorhandler(PaymentProviderError)
def _provider_problem(error: PaymentProviderError) -> Response:
    status = 503 if error.retryable else 502
    code = "payment-provider-unavailable" if error.retryable else "payment-provider-refused"
    return problem(status, "Payment provider", error.message, code, field="provider")


@bp.errorhandler(WebhookRefused)
def _webhook_problem(error: WebhookRefused) -> Response:
    return problem(
        400,
        "Invalid request",
        error.message,
        "webhook-refused",
        field=error.field,
        errors=[{"field": error.field, "message": error.message}],
    )


# --- the providers of this app --------------------------------------------------------------------------


def payment_providers() -> dict[str, PaymentProvider]:
    providers: dict[str, PaymentProvider] | None = current_app.extensions.get(PAYMENTS_EXTENSION)
    if providers is None:
        providers = {"invoice": InvoiceProvider()}
        secret_key = current_app.config.get("STRIPE_SECRET_KEY")
        if secret_key:
            providers["stripe"] = StripeProvider(
                secret_key,
                api_base=current_app.config.get("STRIPE_API_BASE"),
                publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY"),
                payment_method_types=_method_types(current_app.config.get("STRIPE_PAYMENT_METHOD_TYPES")),
            )
        current_app.extensions[PAYMENTS_EXTENSION] = providers
    return providers


def _method_types(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if not value:
        return DEFAULT_PAYMENT_METHOD_TYPES
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item.strip())


def _provider(name: str | None) -> PaymentProvider:
    name = name or current_app.config.get("TANHUI_PAYMENT_PROVIDER") or "invoice"
    provider = payment_providers().get(name)
    if provider is None:
        raise PaymentProviderError(f"the {name} provider is not configured on this registry", retryable=False)
    return provider


# --- views ----------------------------------------------------------------------------------------------


@bp.post("/orders/<order_id>/payments")
@document(
    "Start paying a reserved order: a Stripe PaymentIntent (client secret and publishable key) or invoice "
    "instructions; the same open payment comes back while it is open",
    body="PaymentStartSchema",
    body_required=False,
    response="PaymentSchema",
    status=201,
    optional_auth=True,
    tag="marketplace",
)
def start_payment_view(order_id: str) -> Response:
    principal = optional_principal()
    body = load_body(PaymentStartSchema()) if request.get_data(cache=True) else {"provider": None}
    provider = _provider(body["provider"])
    now = datetime.now(UTC)

    def work(session: Session) -> Created:
        row = visible_order(session, order_id, principal)
        start = settlement.start_payment(session, provider, row, now=now)
        started = start.started
        payment = {
            "order_id": row.id,
            "provider": started.provider,
            "payment_id": started.provider_payment_id,
            "amount_fen": started.amount_fen,
            "currency": started.currency,
            "status": started.status,
            "client_secret": started.client_secret,
            "publishable_key": getattr(provider, "publishable_key", None),
            "payment_method_types": list(getattr(provider, "payment_method_types", ())),
            "instructions": started.instructions,
        }
        return Created(payment, status=201 if start.created else 200)

    return _run(principal, work)


@bp.post("/payments/stripe/webhook")
@document(
    "Stripe's webhook: a signed PaymentIntent event settles its order (once per event id)",
    response="WebhookReceiptSchema",
    tag="marketplace",
)
def stripe_webhook_view() -> Response:
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret or "stripe" not in payment_providers():
        return problem(404, "Not found", "Stripe is not configured on this registry", "not-found")
    if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
        raise WebhookRefused(f"an event is at most {MAX_WEBHOOK_BYTES} bytes", field="body")
    event = verify_stripe_webhook(
        request.get_data(cache=True), request.headers.get("Stripe-Signature"), secret
    )
    service = ledger_service()
    try:
        with database().unit_of_work() as uow:
            result = settlement.apply_event(uow.session, service.sequencer, event, now=datetime.now(UTC))
            uow.commit()
    except IntegrityError:
        # The same event delivered twice at once: the other delivery processed it.
        with database().unit_of_work() as uow:
            result = settlement.apply_event(uow.session, service.sequencer, event, now=datetime.now(UTC))
            assert result.replayed, result
    if not result.replayed:
        _after_commit(result.refund_ids, result.cancel_payment_ids)
    log.info("stripe event %s (%s): %s", event.event_id, event.event_type, result.outcome)
    receipt = {
        "received": True,
        "replayed": result.replayed,
        "outcome": result.outcome,
        "order_id": result.order_id,
        "order_state": result.order_state,
    }
    return json_response(receipt, 200)


@bp.post("/orders/<order_id>/refunds")
@document(
    "Refund a paid order before fulfilment (the registry admin, or the buyer); a fulfilled order is refused",
    body="RefundCreateSchema",
    response="OrderRefundSchema",
    status=201,
    optional_auth=True,
    tag="marketplace",
)
def refund_order_view(order_id: str) -> Response:
    principal = optional_principal()
    if principal is not None and principal.is_registry and principal.role != Role.REGISTRY_ADMIN.value:
        raise Forbidden(
            f"a {principal.role} key may not refund; it needs the role registry_admin", field="role"
        )
    body = load_body(RefundCreateSchema())
    owed: list[int] = []

    def work(session: Session) -> Created:
        row = visible_order(session, order_id, principal)
        requested = settlement.request_refund(
            session, row, now=datetime.now(UTC), detail=body["reason"].strip()
        )
        if not requested.repeated:
            owed.extend(requested.refund_ids)
        document_ = {"order": order_document(session, row), "refunds": _refunds_of(session, row.id)}
        return Created(document_, status=200 if requested.repeated else 201)

    response = _run(principal, work)
    if not owed:
        return response
    _after_commit(tuple(owed), ())
    with database().reading() as session:
        row = visible_order(session, order_id, principal)
        fresh = {"order": order_document(session, row), "refunds": _refunds_of(session, row.id)}
    return json_response(fresh, response.status_code)


# --- helpers --------------------------------------------------------------------------------------------


def _run(principal: Principal | None, work: Any) -> Response:
    """With an API key, :func:`api.idempotency.run_creating` (``Idempotency-Key``); without one (an
    individual's order, shown by its id) one unit of work — these requests are idempotent by nature."""
    if principal is not None:
        return run_creating(principal, work)
    with database().unit_of_work() as uow:
        created: Created = work(uow.session)
        uow.commit()
    return json_response(created.body, created.status)


def _after_commit(refund_ids: Sequence[int], cancel_payment_ids: Sequence[str]) -> None:
    """The provider calls a committed decision owes; a failure leaves them to the scheduled job."""
    providers = payment_providers()
    if refund_ids:
        refunds.deliver_refunds(database(), providers, refund_ids=refund_ids)
    for payment_id in cancel_payment_ids:
        try:
            providers["stripe"].cancel_payment(payment_id)
        except PaymentProviderError as error:
            log.warning("could not cancel %s at Stripe: %s", payment_id, error.message)


def _refunds_of(session: Session, order_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(PaymentRefund).where(PaymentRefund.order_id == order_id).order_by(PaymentRefund.id)
    )
    return [
        {
            "request_id": row.request_id,
            "status": row.status,
            "provider_refund_id": row.provider_refund_id,
            "amount_fen": row.amount_fen,
            "reason": row.reason,
        }
        for row in rows
    ]
