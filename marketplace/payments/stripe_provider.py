"""Stripe: PaymentIntents in fen of CNY, refunds, and the webhook events they produce, through the real SDK.

The SDK's :class:`stripe.StripeClient` is built with the secret key and API base from the configuration
(``STRIPE_SECRET_KEY``, ``STRIPE_API_BASE`` — the latter only to point at an emulator such as localstripe
in tests), so nothing here touches the SDK's module-level globals. Every call that creates something at
Stripe carries an idempotency key derived from our own ids, so that a retry (by the SDK after a network
error, or by us after a failed commit) returns what the first call created instead of a second intent or
refund.

An intent offers the payment method types ``card``, ``alipay`` and ``wechat_pay`` by default (issue 5);
they are configurable because a Stripe account must have each activated, and Stripe refuses an intent that
names one it has not. localstripe accepts the list without checking it (it only ever charges cards), so the
tests exercise card payments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import stripe

from marketplace.payments.provider import (
    CURRENCY,
    EventKind,
    PaymentProviderError,
    ProviderEvent,
    ProviderRefund,
    StartedPayment,
)

NAME = "stripe"
DEFAULT_PAYMENT_METHOD_TYPES = ("card", "alipay", "wechat_pay")
MAX_NETWORK_RETRIES = 2
HTTP_TIMEOUT_S = 20
WEBHOOK_TOLERANCE_S = 300
"""Stripe's own default: a signed timestamp older than five minutes is refused (replayed captures)."""
EVENT_KINDS = {
    "payment_intent.succeeded": EventKind.SUCCEEDED,
    "payment_intent.payment_failed": EventKind.FAILED,
    "payment_intent.canceled": EventKind.CANCELED,
}
CANCELLABLE_STATUSES = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"}
)


class WebhookRefused(Exception):
    """A webhook request that is not a genuine, well-formed Stripe event; nothing was processed."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class StripeProvider:
    """PaymentIntents and refunds at Stripe (or an emulator at ``api_base``)."""

    def __init__(
        self,
        secret_key: str,
        *,
        api_base: str | None = None,
        publishable_key: str | None = None,
        payment_method_types: Sequence[str] = DEFAULT_PAYMENT_METHOD_TYPES,
    ) -> None:
        assert secret_key, "STRIPE_SECRET_KEY is required for the Stripe provider"
        assert payment_method_types, "name at least one payment method type"
        self.publishable_key = publishable_key
        self.payment_method_types = tuple(payment_method_types)
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=MAX_NETWORK_RETRIES,
            http_client=stripe.new_default_http_client(timeout=HTTP_TIMEOUT_S),
        )

    @property
    def name(self) -> str:
        return NAME

    def start_payment(self, order_id: str, amount_fen: int, *, idempotency_key: str) -> StartedPayment:
        params: dict[str, Any] = {
            "amount": amount_fen,
            "currency": CURRENCY,
            "payment_method_types": list(self.payment_method_types),
            "metadata": {"order_id": order_id},
        }
        intent = self._call(
            self.client.v1.payment_intents.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return _started(intent)

    def resume_payment(self, provider_payment_id: str, *, order_id: str, amount_fen: int) -> StartedPayment:
        intent = self._call(lambda: self.client.v1.payment_intents.retrieve(provider_payment_id))
        started = _started(intent)
        assert started.amount_fen == amount_fen, (started, amount_fen)
        assert intent.metadata.to_dict().get("order_id") == order_id, intent.metadata
        return started

    def cancel_payment(self, provider_payment_id: str) -> None:
        intent = self._call(lambda: self.client.v1.payment_intents.retrieve(provider_payment_id))
        if intent.status in CANCELLABLE_STATUSES:
            self._call(lambda: self.client.v1.payment_intents.cancel(provider_payment_id))

    def refund(
        self, provider_payment_id: str, amount_fen: int, *, idempotency_key: str, order_id: str
    ) -> ProviderRefund:
        refund = self._call(
            self.client.v1.refunds.create,
            params={
                "payment_intent": provider_payment_id,
                "amount": amount_fen,
                "metadata": {"order_id": order_id},
            },
            options={"idempotency_key": idempotency_key},
        )
        return ProviderRefund(provider_refund_id=refund.id, status=str(refund.status))

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
            raise PaymentProviderError(f"Stripe could not be reached: {error}", retryable=True) from error
        except stripe.StripeError as error:
            raise PaymentProviderError(
                f"Stripe refused: {error.user_message or error}", retryable=False
            ) from error


def verify_webhook(payload: bytes, signature_header: str | None, secret: str) -> ProviderEvent:
    """The event in a webhook request, if its ``Stripe-Signature`` proves Stripe sent it; else refused.

    The signature is checked by the SDK (``stripe.Webhook.construct_event``: HMAC-SHA256 of
    ``<timestamp>.<payload>`` with the endpoint's secret, within :data:`WEBHOOK_TOLERANCE_S`).
    """
    if not signature_header:
        raise WebhookRefused("the Stripe-Signature header is missing", field="Stripe-Signature")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature_header, secret, tolerance=WEBHOOK_TOLERANCE_S
        )
    except stripe.SignatureVerificationError as error:
        raise WebhookRefused(f"the signature does not verify: {error}", field="Stripe-Signature") from error
    except ValueError as error:
        raise WebhookRefused("the body is not a JSON event", field="body") from error
    return event_from_stripe(event.to_dict())


def event_from_stripe(event: Mapping[str, Any]) -> ProviderEvent:
    """A Stripe event (as a plain dict) as the provider-neutral :class:`ProviderEvent`."""
    event_id = event.get("id")
    event_type = event.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        raise WebhookRefused("an event needs an id and a type", field="body")
    kind = EVENT_KINDS.get(event_type, EventKind.OTHER)
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping) or obj.get("object") != "payment_intent":
        return ProviderEvent(NAME, event_id, event_type[:64], EventKind.OTHER, None, None, None, None)
    metadata = obj.get("metadata")
    order_id = metadata.get("order_id") if isinstance(metadata, Mapping) else None
    amount = obj.get("amount")
    error = obj.get("last_payment_error")
    detail = str(error.get("message") or "") if isinstance(error, Mapping) else ""
    return ProviderEvent(
        provider=NAME,
        event_id=event_id,
        event_type=event_type[:64],
        kind=kind,
        provider_payment_id=obj.get("id") if isinstance(obj.get("id"), str) else None,
        order_id=order_id if isinstance(order_id, str) else None,
        amount_fen=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        currency=obj.get("currency") if isinstance(obj.get("currency"), str) else None,
        detail=detail[:500],
    )


def _started(intent: Any) -> StartedPayment:
    return StartedPayment(
        provider=NAME,
        provider_payment_id=intent.id,
        amount_fen=int(intent.amount),
        currency=str(intent.currency),
        status=str(intent.status),
        client_secret=intent.client_secret,
    )
