"""The registry's "invoice paid" form, read and checked: the amount received in 元 or in fen, and the bank's
reference, as ``POST /api/v1/orders/<id>/invoice-payment`` takes them.

The amount becomes whole fen here, exactly (元 with at most two decimals; no float); the result is then
checked with the API's own :class:`api.orders_views.InvoicePaymentSchema`, so that the page accepts
exactly what the API accepts. Errors are codes per field, worded by the template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from marshmallow import ValidationError

UNITS: Final = ("yuan", "fen")
FEN_PER_YUAN: Final = 100
MAX_AMOUNT_CHARS: Final = 24
MAX_YUAN_DIGITS: Final = 13
"""Beyond 10^13 元 (the API's 10^15 fen) an amount is a typing error; also keeps Decimal from overflowing."""
WHOLE_FEN: Final = re.compile(r"^[0-9]{1,16}$")


@dataclass(frozen=True)
class InvoicePayment:
    reference: str
    amount_fen: int


def read_amount_fen(text: str, unit: str) -> tuple[int | None, str | None]:
    """The amount in whole fen, or an error code (``required``, ``too_large``, ``number``, ``whole_fen``,
    ``fen_precision``, ``positive``)."""
    text = text.strip().replace(",", "").replace("，", "").removesuffix("元").strip()
    if not text:
        return None, "required"
    if len(text) > MAX_AMOUNT_CHARS:
        return None, "too_large"
    amount_fen, problem = _whole_fen(text) if unit == "fen" else _fen_of_yuan(text)
    if amount_fen is not None and amount_fen < 1:
        problem = "positive"
    return (None, problem) if problem else (amount_fen, None)


def _whole_fen(text: str) -> tuple[int | None, str | None]:
    return (int(text), None) if WHOLE_FEN.match(text) else (None, "whole_fen")


def _fen_of_yuan(text: str) -> tuple[int | None, str | None]:
    """元 with at most two decimals, exactly (Decimal, never float)."""
    try:
        yuan = Decimal(text)
    except InvalidOperation:
        return None, "number"
    if not yuan.is_finite():
        return None, "number"
    if yuan.adjusted() > MAX_YUAN_DIGITS:
        return None, "too_large"
    fen = yuan * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        return None, "fen_precision"
    return int(fen), None


def read_invoice_payment(form: Mapping[str, str]) -> tuple[InvoicePayment | None, dict[str, str]]:
    errors: dict[str, str] = {}
    unit = form.get("unit", "yuan")
    if unit not in UNITS:
        unit = "yuan"
    amount_fen, problem = read_amount_fen(form.get("amount", ""), unit)
    if problem:
        errors["amount"] = problem
    reference = form.get("reference", "").strip()
    if not reference:
        errors["reference"] = "required"
    if errors:
        return None, errors
    # Imported here: api.orders_views belongs to the API blueprint's package, which imports all its views
    # when first loaded; importing it while web.pages loads (before web.app has loaded the API) would be
    # circular. By the time a form is read, the app has loaded it.
    from api.orders_views import InvoicePaymentSchema

    try:
        body = InvoicePaymentSchema().load({"amount_fen": amount_fen, "reference": reference})
    except ValidationError as error:
        fields = error.normalized_messages()  # type: ignore[no-untyped-call]
        if "reference" in fields:
            errors["reference"] = "reference"
        if "amount_fen" in fields:
            errors["amount"] = "too_large"
        return None, errors or {"reference": "reference"}
    return InvoicePayment(reference=body["reference"], amount_fen=body["amount_fen"]), {}
