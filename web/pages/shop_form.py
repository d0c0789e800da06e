"""The micro-sink (微碳汇) purchase form, read and checked: plain Python, no Flask.

:func:`read_purchase` turns the submitted fields into a :class:`Purchase` or a mapping of field name to
an error code; the template words each code in the reader's language, and the form is shown again with
everything the buyer typed. The limits are the API's (``api.orders_views``), so the page accepts
exactly what ``POST /api/v1/orders`` accepts for an individual.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ledger import limits

MAX_NAME_CHARS = 200
MAX_GIFT_MESSAGE_CHARS = 500
MAX_QUANTITY_KG = min(10**9, limits.MAX_QUANTITY_KG)
"""A million tonnes: no individual buys more; a larger number is a typing error."""
WHOLE_NUMBER = re.compile(r"^[0-9]{1,13}$")
KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FIELDS = (
    "quantity_kg",
    "name",
    "display_name",
    "gift",
    "gift_message",
    "public",
    "poverty_area_only",
    "request_key",
)


@dataclass(frozen=True)
class Purchase:
    quantity_kg: int
    name: str
    display_name: str | None
    gift: bool
    gift_message: str
    public: bool
    poverty_area_only: bool
    request_key: str | None
    """The form's one-time key: a resubmitted form finds the order it placed (the Idempotency-Key)."""


def _checked(form: Mapping[str, str], name: str) -> bool:
    return form.get(name, "") in ("on", "1", "true", "yes")


def read_quantity_kg(text: str) -> tuple[int | None, str | None]:
    """A whole, positive number of kilograms, or an error code."""
    text = text.strip().replace(",", "").replace("，", "")
    if not text:
        return None, "required"
    if text.startswith("-"):
        return None, "at_least_one"
    if not WHOLE_NUMBER.match(text):
        return None, "whole_kg"
    value = int(text)
    if value < 1:
        return None, "at_least_one"
    if value > MAX_QUANTITY_KG:
        return None, "too_large"
    return value, None


def read_purchase(form: Mapping[str, str]) -> tuple[Purchase | None, dict[str, str]]:
    errors: dict[str, str] = {}
    quantity_kg, problem = read_quantity_kg(form.get("quantity_kg", ""))
    if problem:
        errors["quantity_kg"] = problem
    name = form.get("name", "").strip()
    if not name:
        errors["name"] = "required"
    elif len(name) > MAX_NAME_CHARS:
        errors["name"] = "too_long"
    display_name = form.get("display_name", "").strip() or None
    if display_name is not None and len(display_name) > MAX_NAME_CHARS:
        errors["display_name"] = "too_long"
    gift = _checked(form, "gift")
    gift_message = form.get("gift_message", "").strip()
    if len(gift_message) > MAX_GIFT_MESSAGE_CHARS:
        errors["gift_message"] = "too_long"
    request_key = form.get("request_key", "").strip() or None
    if request_key is not None and not KEY.match(request_key):
        request_key = None  # a mangled key protects nothing; place the order without one
    if errors:
        return None, errors
    assert quantity_kg is not None
    return (
        Purchase(
            quantity_kg=quantity_kg,
            name=name,
            display_name=display_name,
            gift=gift,
            gift_message=gift_message if gift else "",
            public=_checked(form, "public"),
            poverty_area_only=_checked(form, "poverty_area_only"),
            request_key=request_key,
        ),
        {},
    )
