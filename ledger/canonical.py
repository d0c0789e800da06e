"""Entry bodies as RFC 8785 (JSON Canonicalization Scheme) bytes, and their strict reading back.

The body's bytes are what is hashed and signed, so they must be exactly RFC 8785. For the values the
ledger writes — objects whose keys are ASCII, strings, booleans and integers within the 2**53 range
that JSON numbers represent exactly, no floats — RFC 8785 output is byte for byte what Python's
``json`` module writes with sorted keys, no whitespace and no ASCII escaping: ASCII keys sort the same
by UTF-16 code units (RFC 8785 §3.2.3) as by code points, integers serialise the same, and both escape
exactly ``"``, ``\\`` and the C0 controls (short forms for \\b \\t \\n \\f \\r, lowercase ``\\u00xx``
otherwise). ``orjson`` writes that form, fast; anything else goes through the ``rfc8785`` package. A
property test holds the two to the same bytes.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
import rfc8785

MAX_SAFE_INTEGER: Final = 2**53 - 1


class NotCanonical(ValueError):
    """The bytes are not the RFC 8785 form of a JSON object."""


def canonical_bytes(value: Any, *, fast: bool | None = None) -> bytes:
    """RFC 8785 bytes of ``value``; floats are refused, because quantities and money are integers.

    ``fast``: whether :func:`fast_path_applies` to ``value``, if the caller has judged it more cheaply from
    a shape it knows (it must be the same answer); by default it is computed here.
    """
    if fast if fast is not None else fast_path_applies(value):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return rfc8785.dumps(value)


def parse_canonical_object(raw: bytes) -> dict[str, Any]:
    """Parse ``raw`` as a JSON object that is already in canonical form, or raise :class:`NotCanonical`."""
    value = load_object(raw)
    confirm_canonical(value, raw, fast=fast_path_holds(value))
    return value


def load_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``, not yet known to be canonical (:func:`confirm_canonical`)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise NotCanonical(f"not UTF-8 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise NotCanonical("not a JSON object")
    return value


def confirm_canonical(value: dict[str, Any], raw: bytes, *, fast: bool) -> None:
    """Raise :class:`NotCanonical` unless ``raw`` is the RFC 8785 form of ``value`` (parsed from it).

    ``fast``: whether :func:`fast_path_applies` to ``value`` (the caller may judge it from a shape it
    knows, as :func:`ledger.entries.parse_body` does).
    """
    try:
        if fast and orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == raw:
            return
    except TypeError as exc:
        raise NotCanonical(f"not a ledger body: {exc}") from exc
    try:
        canonical = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        raise NotCanonical(f"cannot be canonicalised: {exc}") from exc
    if canonical != raw:
        raise NotCanonical("not in RFC 8785 canonical form")


def fast_path_holds(value: Any) -> bool:
    """:func:`fast_path_applies` to a value read from stored bytes, where a float is not canonical."""
    try:
        return fast_path_applies(value)
    except TypeError as exc:
        raise NotCanonical(f"not a ledger body: {exc}") from exc


def fast_path_applies(value: Any) -> bool:
    """True if ``orjson`` writes RFC 8785 bytes for ``value``; raises TypeError on floats.

    Iterative, with exact type checks, because it runs on every body written and read: containers are
    pushed, and the scalars inside them (mostly strings) are judged where they are found. Keys are
    judged one by one with ``str.isascii``, which CPython answers from a flag of the string without
    reading it (joining them first, to ask once, cost a copy of every key).
    """
    if type(value) is not dict and type(value) is not list and type(value) is not tuple:
        return _scalar_applies(value)
    applies = True
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        # One typed loop per container type: compiled, each iterates natively (a dict's items without
        # making a tuple per item), where one loop over an untyped iterable goes through the iterator
        # protocol for every child.
        if type(item) is dict:
            mapping: dict[Any, Any] = item
            for key, child in mapping.items():
                if type(key) is not str or not key.isascii():
                    applies = False
                if not _child_applies(child, pending):
                    applies = False
        elif type(item) is list:
            items: list[Any] = item
            for child in items:
                if not _child_applies(child, pending):
                    applies = False
        else:
            members: tuple[Any, ...] = item
            for child in members:
                if not _child_applies(child, pending):
                    applies = False
    return applies


def _child_applies(child: Any, pending: list[Any]) -> bool:
    """Judge a scalar inside a container, or push a container to be walked (and count it as applying).

    Every child is judged, even once the answer is known, so that a float anywhere raises.
    """
    kind = type(child)
    if kind is str or kind is bool or child is None:
        return True
    if kind is dict or kind is list or kind is tuple:
        pending.append(child)
        return True
    if kind is int:
        return _safe_integer(child)
    return _scalar_applies(child)


def _safe_integer(value: int) -> bool:
    # Declared ``int`` for an exact int only (never a bool): compiled, the comparisons are native.
    return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER


def _scalar_applies(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if isinstance(value, float):
        raise TypeError("floats have no place in a ledger entry")
    return False
