"""Checks of single values a command or an entry carries: quantities, request ids and texts.

Apart from :mod:`ledger.commands` because the rules run them on every entry appended or replayed, and
this module is compiled (``ledger/native.py``): each check takes ``object``, since its purpose is to
refuse what is not of the right type with a clear :class:`~ledger.errors.InvalidCommand`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from ledger import limits
from ledger.errors import InvalidCommand

REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$")


def check_quantity_kg(value: object, field: str = "quantity_kg") -> int:
    """A positive whole number of kilograms within the ledger's limit, or :class:`InvalidCommand`."""
    if type(value) is int and 0 < value <= limits.MAX_QUANTITY_KG:
        return value
    if isinstance(value, bool) or value is None:
        raise InvalidCommand("must be a whole number of kilograms", field=field)
    if isinstance(value, float | Decimal):
        try:
            whole = value == int(value)
        except (ValueError, OverflowError):  # NaN and infinities have no integer value
            whole = False
        if not whole:
            raise InvalidCommand("must be a whole number of kilograms, not a fraction", field=field)
        raise InvalidCommand("must be an integer, not a decimal number", field=field)
    if not isinstance(value, int):
        raise InvalidCommand("must be a whole number of kilograms", field=field)
    if value <= 0:
        raise InvalidCommand("must be at least 1 kg", field=field)
    if value > limits.MAX_QUANTITY_KG:
        raise InvalidCommand(f"must not exceed {limits.MAX_QUANTITY_KG} kg", field=field)
    return value


def check_request_id(value: object) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= limits.MAX_REQUEST_ID_CHARS
        or not REQUEST_ID.fullmatch(value)
    ):
        raise InvalidCommand(
            f"request ids are 1-{limits.MAX_REQUEST_ID_CHARS} characters of letters, digits and ._:/@-",
            field="request_id",
        )
    return value


def check_text(value: object, field: str, max_chars: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidCommand("must be text", field=field)
    if not value.isprintable() and any(
        (ord(char) < 0x20 and char not in "\n\t") or char == "\x7f" or 0xD800 <= ord(char) <= 0xDFFF
        for char in value
    ):
        raise InvalidCommand("must not contain control characters or lone surrogates", field=field)
    stripped = value.strip()
    if required and not stripped:
        raise InvalidCommand("is required", field=field)
    if len(stripped) > max_chars:
        raise InvalidCommand(f"must be at most {max_chars} characters", field=field)
    return stripped
