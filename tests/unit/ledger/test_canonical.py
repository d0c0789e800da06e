"""The canonical-JSON fast path writes exactly what the RFC 8785 implementation writes, and reads strictly."""

from __future__ import annotations

import re

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import NotCanonical, canonical_bytes, fast_path_applies, parse_canonical_object

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
ascii_keys = st.text(st.characters(max_codepoint=0x7F), max_size=8)
safe_integers = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
scalars = st.none() | st.booleans() | safe_integers | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text | ascii_keys, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500)
@given(st.dictionaries(text | ascii_keys, json_values, max_size=6))
def test_canonical_bytes_equal_the_rfc8785_reference_and_read_back(value):
    raw = canonical_bytes(value)
    assert raw == rfc8785.dumps(value)
    assert parse_canonical_object(raw) == value


def test_keys_outside_the_basic_plane_sort_by_utf16_code_units_as_rfc8785_requires():
    # U+1F600 is D83D DE00 in UTF-16, which sorts before U+FF21; by code point it would sort after.
    value = {"\U0001f600": 1, "\uff21": 2}
    assert canonical_bytes(value) == '{"\U0001f600":1,"\uff21":2}'.encode()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"b":1,"a":2}',  # keys out of order
        b'{"a": 1}',  # whitespace
        b'{"a":1.0}',  # a float
        b'{"a":"\\u00e9"}',  # needless escape
        b'{"a":1,"a":1}',  # duplicate key
        b"[1]",  # not an object
        b'{"a":"\xff"}',  # not UTF-8
        b'{"a":9007199254740993}',  # beyond 2**53
    ],
)
def test_bodies_that_are_not_canonical_are_refused(raw):
    with pytest.raises(NotCanonical):
        parse_canonical_object(raw)


def test_floats_are_refused_when_writing():
    with pytest.raises(TypeError):
        canonical_bytes({"quantity": 1.5})


@pytest.mark.parametrize(
    "value",
    [
        {"a": ({"b": [1, {"c": 1.5}]},)},  # deep inside a tuple, a list and a dict
        {"a": [{"\U0001f600": 1}, 2.0]},  # after a key that already rules the fast path out
        {"a": (1, 2, 3.0)},
    ],
)
def test_a_float_anywhere_is_refused_when_writing(value):
    with pytest.raises(TypeError):
        canonical_bytes(value)


def test_keys_beyond_ascii_deep_inside_any_container_are_written_by_rfc8785():
    value = {"a": ({"z": [{"\U0001f600": 1, "\uff21": (2, 2**53 - 1)}]},)}
    assert canonical_bytes(value) == rfc8785.dumps(value)
    assert canonical_bytes(value) == '{"a":[{"z":[{"\U0001f600":1,"\uff21":[2,9007199254740991]}]}]}'.encode()


SAFE = 2**53 - 1


@pytest.mark.parametrize(
    ("value", "applies"),
    [
        ({"a": "文本", "b": True, "c": None, "d": SAFE, "e": -SAFE}, True),
        ([1, "x", None, False, [SAFE], {"k": -SAFE}], True),
        (("tuple", 1), True),
        (SAFE, True),
        (-SAFE, True),
        ("text", True),
        (None, True),
        (SAFE + 1, False),
        (-SAFE - 1, False),
        ({"a": SAFE + 1}, False),
        ([1, SAFE + 1], False),
        (("x", -SAFE - 1), False),
        ({"a": [{"b": [SAFE + 1]}]}, False),
        ({"é": 1}, False),
        ([{"a": 1}, {"键": 1}], False),
        ({1: "a"}, False),
        ([b"bytes"], False),
        ({"a": {1, 2}}, False),
        (b"bytes", False),
    ],
)
def test_the_fast_path_applies_exactly_to_ascii_keys_and_safe_scalars(value, applies):
    """orjson's bytes are RFC 8785's only for ASCII keys and integers within ±(2^53 − 1); anything else
    must go to the rfc8785 package, which orders other keys by UTF-16 and refuses larger integers."""
    assert fast_path_applies(value) is applies


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 2**53}, "9007199254740992 exceeds safe integer domain"),
        ({"a": [1, 2**53]}, "9007199254740992 exceeds safe integer domain"),
        ({"a": (-(2**53),)}, "-9007199254740992 exceeds safe integer domain"),
        ({"a": [b"x"]}, "unsupported type: <class 'bytes'>"),
    ],
)
def test_a_value_rfc8785_cannot_write_is_refused_wherever_it_sits(value, message):
    """orjson would write these; RFC 8785 has no form for them, so neither does a ledger body."""
    with pytest.raises(rfc8785.CanonicalizationError, match=f"^{re.escape(message)}"):
        canonical_bytes(value)
