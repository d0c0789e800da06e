"""Entry bodies as RFC 8785 (JSON Canonicalization Scheme) bytes, and their strict reading back.

The body's bytes are what is hashed and signed, so they are produced by one well-kept JCS
implementation (``rfc8785``) and, when read back, must re-canonicalise to the very same bytes.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785


class NotCanonical(ValueError):
    """The bytes are not the RFC 8785 form of a JSON object."""


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``; floats are refused, because quantities and money are integers."""
    _refuse_floats(value)
    return rfc8785.dumps(value)


def parse_canonical_object(raw: bytes) -> dict[str, Any]:
    """Parse ``raw`` as a JSON object that is already in canonical form, or raise :class:`NotCanonical`."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotCanonical(f"not UTF-8 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise NotCanonical("not a JSON object")
    if rfc8785.dumps(value) != raw:
        raise NotCanonical("not in RFC 8785 canonical form")
    return value


def _no_float(token: str) -> Any:
    raise ValueError(f"non-integer number {token!r}")


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("floats have no place in a ledger entry")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)
