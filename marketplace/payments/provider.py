"""The one interface every payment provider offers: start a payment for an order, refund one, its name.

A provider is an edge: it talks to the outside (Stripe's API) or to nobody (the offline invoice). What it
reports back — a payment succeeded, failed or was cancelled — reaches the order through
:mod:`marketplace.payments.settlement` as a :class:`ProviderEvent`, whatever the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

CURRENCY = "cny"
"""Money is integer fen of CNY (DESIGN.md): Stripe's smallest unit of ``cny`` is the fen."""


class PaymentProviderError(Exception):
    """The provider refused or could not be reached; nothing was recorded for it."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class StartedPayment:
    """A payment opened at the provider: what the buyer's browser or bank needs to pay it."""

    provider: str
    provider_payment_id: str
    amount_fen: int
    currency: str
    status: str
    """The provider's own word: ``requires_payment_method``, ``succeeded``, … or ``awaiting_transfer``."""
    client_secret: str | None = None
    """For Stripe.js (``stripe.confirmPayment``); ``None`` for the offline provider."""
    instructions: str | None = None
    """For the offline provider: how to pay by bank transfer."""


@dataclass(frozen=True)
class ProviderRefund:
    provider_refund_id: str
    status: str
    """``succeeded`` (the provider returned the money) or ``manual`` (the registry pays it back itself)."""


class EventKind(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    OTHER = "other"


@dataclass(frozen=True)
class ProviderEvent:
    """What a provider reported about one payment, independent of its wire format."""

    provider: str
    event_id: str
    event_type: str
    kind: EventKind
    provider_payment_id: str | None
    order_id: str | None
    """The order the payment was started for, as the provider echoes it (Stripe ``metadata.order_id``)."""
    amount_fen: int | None
    currency: str | None
    detail: str = ""


class PaymentProvider(Protocol):
    """Implemented by :class:`~marketplace.payments.invoice.InvoiceProvider` and
    :class:`~marketplace.payments.stripe_provider.StripeProvider`."""

    @property
    def name(self) -> str: ...

    def start_payment(self, order_id: str, amount_fen: int, *, idempotency_key: str) -> StartedPayment:
        """Open a payment of ``amount_fen`` for the order; the same key returns the same payment."""
        ...

    def resume_payment(self, provider_payment_id: str, *, order_id: str, amount_fen: int) -> StartedPayment:
        """The payment opened before, as it stands now (for an idempotent repeat of the start)."""
        ...

    def cancel_payment(self, provider_payment_id: str) -> None:
        """Stop the payment from being paid, if the provider still can (best effort)."""
        ...

    def refund(
        self, provider_payment_id: str, amount_fen: int, *, idempotency_key: str, order_id: str
    ) -> ProviderRefund:
        """Return ``amount_fen`` of the payment to the buyer; the same key refunds once."""
        ...
