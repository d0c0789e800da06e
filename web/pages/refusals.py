"""A refused domain request, as a page shows it: a sentence in the reader's language, then the detail.

The domain's refusals (:class:`~ledger.errors.LedgerError`, :class:`~marketplace.errors.MarketplaceError`,
:class:`~marketplace.payments.provider.PaymentProviderError`) carry an English message, written for the API's
``application/problem+json`` and the logs. A page is Chinese first, so it words the refusal by its stable
``code`` and ``field`` (``refusal_text`` in templates/macros.html, translated like every other sentence)
and keeps the domain's message after it as the detail, marked as English, so that nothing it says is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import LedgerError
from marketplace.errors import MarketplaceError
from marketplace.payments.provider import PaymentProviderError

#: The code of a payment provider's refusal, which has none of its own (it is not a domain refusal).
PAYMENT_PROVIDER_CODE = "payment-provider-unavailable"


@dataclass(frozen=True)
class Refusal:
    """What a template needs to word a refusal: its code, the field at fault and the domain's message."""

    code: str
    field: str | None
    detail: str


def refusal_of(error: LedgerError | MarketplaceError | PaymentProviderError) -> Refusal:
    if isinstance(error, PaymentProviderError):
        return Refusal(code=PAYMENT_PROVIDER_CODE, field=None, detail=error.message)
    return Refusal(code=error.code, field=error.field, detail=error.message)
