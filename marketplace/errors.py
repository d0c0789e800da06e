"""The base of the marketplace's refusals: a message, the input field at fault, a stable code and a status.

Orders, lots, pre-orders and reversals each raise their own subclass (:class:`~marketplace.orders.OrderError`,
:class:`~marketplace.lots.LotError`, :class:`~marketplace.preorders.PreorderError`,
:class:`~marketplace.reversals.ReversalError`), so that callers can catch one feature's refusals; the edges
map every :class:`MarketplaceError` to ``application/problem+json`` in one place (api/orders_views.py), with
``code`` as the problem type and ``status`` as the HTTP status. The checks every feature makes of its
input (:func:`checked_text`, :func:`check_utc`) raise the feature's own subclass.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class MarketplaceError(Exception):
    """A marketplace request that is refused; nothing has been written."""

    code = "marketplace-error"
    status = 422

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def checked_text(value: object, field: str, max_chars: int, refusal: type[MarketplaceError]) -> str:
    """``value`` stripped, if it is a non-empty text of at most ``max_chars``; ``refusal`` naming ``field``
    otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise refusal("must be a non-empty text", field=field)
    value = value.strip()
    if len(value) > max_chars:
        raise refusal(f"must be at most {max_chars} characters", field=field)
    return value


def check_utc(at: object, refusal: type[MarketplaceError], field: str = "now") -> None:
    """Refuse (``refusal`` naming ``field``) anything but an aware datetime in UTC."""
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() != timedelta(0):
        raise refusal("must be a UTC time with its time zone", field=field)


def check_year(value: object, refusal: type[MarketplaceError], field: str) -> None:
    """Refuse (``refusal`` naming ``field``) anything but a four-digit year written in ASCII digits.

    ``str.isdigit()`` alone also takes other scripts' digits (２０２３), which ``int()`` reads as a year.
    """
    if not (isinstance(value, str) and len(value) == 4 and value.isascii() and value.isdigit()):
        raise refusal("must be a four-digit year", field=field)
