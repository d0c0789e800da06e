"""Reading stored entry bodies strictly (ledger.entries.parse_body): every field, every time, every call."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger import limits
from ledger.canonical import canonical_bytes
from ledger.entries import GENESIS_PREV, ParsedBody, is_digest_hex, make_body, parse_body, parse_time
from ledger.errors import EntryTooLarge


def _body(**changes: Any) -> bytes:
    value: dict[str, Any] = {
        "v": 1,
        "seq": 7,
        "prev": GENESIS_PREV,
        "time": "2026-12-05T22:06:20.261313Z",
        "kind": "transfer",
        "request": "ab" * 32,
        "data": {"from": "ACC-1", "to": "ACC-2"},
    }
    value.update(changes)
    return canonical_bytes(value)


def _made(data: dict[str, Any], seq: int = 1, kind: str = "issue") -> bytes:
    return make_body(
        seq=seq, prev="cd" * 32, time="2026-01-02T03:04:05.000006Z", kind=kind, request_id="r-1", data=data
    )


def test_a_body_the_sequencer_makes_reads_back_field_for_field() -> None:
    raw = _made({"a": 1}, seq=3, kind="retire")
    parsed = parse_body(raw)
    assert isinstance(parsed, ParsedBody)
    assert (parsed.seq, parsed.prev, parsed.time, parsed.kind, parsed.data) == (
        3,
        "cd" * 32,
        "2026-01-02T03:04:05.000006Z",
        "retire",
        {"a": 1},
    )
    assert parsed == tuple(parsed)


@pytest.mark.parametrize(
    "time",
    [
        "2026-13-01T00:00:00.000000Z",  # the pattern fits, the calendar does not
        "2026-02-30T00:00:00.000000Z",
        "2026-12-05T24:00:00.000000Z",
        "2026-12-05T22:06:20Z",
        "2026-12-05 22:06:20.261313Z",
        "2026-12-05T22:06:20.261313+00:00",
    ],
)
def test_a_time_that_is_not_rfc_3339_utc_is_refused_every_time_it_is_read(time: str) -> None:
    assert parse_body(_body()).time == "2026-12-05T22:06:20.261313Z"  # a good time is read (and remembered)
    for _ in range(2):  # a bad one is refused again on the next read, never remembered as good
        with pytest.raises(ValueError, match="RFC 3339"):
            parse_body(_body(time=time))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time": 1_733_436_380}, "RFC 3339"),
        ({"prev": "AB" * 32}, "prev"),
        ({"request": "ab" * 31}, "request"),
        ({"seq": -1}, "seq"),
        ({"v": 2}, "version"),
        ({"kind": 3}, "kind"),
        ({"data": []}, "data"),
    ],
)
def test_each_field_of_a_body_is_checked(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_body(_body(**changes))


@pytest.mark.parametrize("expected", [None, "ab" * 32, "AB" * 32])
def test_a_prev_that_is_not_a_digest_is_refused_whatever_the_reader_expects(expected: str | None) -> None:
    with pytest.raises(ValueError, match="prev is not 64 lowercase hex digits"):
        parse_body(_body(prev="AB" * 32), expected_prev=None if expected is None else "ab" * 32)


def test_a_prev_the_reader_expects_reads_back() -> None:
    assert parse_body(_body(prev="ab" * 32), expected_prev="ab" * 32).prev == "ab" * 32
    # A digest other than the one expected is read as it is: the chain check names that problem.
    assert parse_body(_body(prev="cd" * 32), expected_prev="ab" * 32).prev == "cd" * 32


@pytest.mark.parametrize("version", [True, 1.0, 2, "1"])
def test_only_the_integer_1_is_a_body_version(version: object) -> None:
    raw = _body().replace(b'"v":1', b'"v":' + json.dumps(version).encode())
    with pytest.raises(ValueError, match="version"):
        parse_body(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_body().replace(b'"to":"ACC-2"}', b'"to":"ACC-2","x":1.5}'), "floats"),
        (_body().replace(b'"seq":7', b'"seq":9007199254740993'), "canonical"),
        (
            _body().replace(
                b'{"data":{"from":"ACC-1","to":"ACC-2"}', b'{"data":{"to":"ACC-2","from":"ACC-1"}'
            ),
            "RFC 8785",
        ),
        (_body().replace(b'"kind":"transfer"', b'"kind": "transfer"'), "RFC 8785"),
    ],
    ids=["a float in data", "a seq beyond 2**53", "keys out of order", "whitespace"],
)
def test_a_body_that_is_not_canonical_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_body(raw)


def test_a_body_with_keys_beyond_ascii_is_judged_by_rfc_8785_itself() -> None:
    data = {"名称": "林草碳汇", "b": 1, "\U0001f600": 2, "\uff21": 3}
    assert parse_body(_made(data)).data == data
    with pytest.raises(TypeError):
        _made({"x": 0.5})


DIGEST = hashlib.sha256(b"tanhui").hexdigest()


@pytest.mark.parametrize(
    "text",
    [
        DIGEST.upper(),
        DIGEST[:-1],
        DIGEST + "0",
        DIGEST[:-1] + "\n",
        DIGEST[:-2] + " 0",
        " " + DIGEST[1:],
        DIGEST[:-1] + "g",
        DIGEST[:-1] + "٣",  # an Arabic-Indic digit: a digit to str.isdigit, not hex
        "ab " * 21 + "a",
        "",
    ],
)
def test_only_64_lowercase_hex_digits_are_a_digest(text: str) -> None:
    assert not is_digest_hex(text)
    assert is_digest_hex(DIGEST)


def test_an_rfc_3339_utc_time_reads_as_that_moment() -> None:
    moment = parse_time("2031-07-08T09:10:11.123456Z")
    assert moment == datetime(2031, 7, 8, 9, 10, 11, 123456, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"^not an RFC 3339 UTC time: 20310708$"):
        parse_time(20310708)  # type: ignore[arg-type]


def test_the_first_entry_of_the_ledger_reads_back() -> None:
    body = make_body(
        seq=0, prev=GENESIS_PREV, time="2026-01-02T03:04:05.000006Z", kind="issue", request_id="r-0", data={}
    )
    parsed = parse_body(body, expected_prev=GENESIS_PREV)
    assert (parsed.seq, parsed.prev, parsed.kind) == (0, GENESIS_PREV, "issue")


def test_a_body_of_exactly_the_size_limit_is_made_and_one_byte_more_is_refused() -> None:
    empty = len(_made({"details": ""}))
    room = limits.MAX_BODY_BYTES - empty
    assert len(_made({"details": "x" * room})) == limits.MAX_BODY_BYTES
    with pytest.raises(
        EntryTooLarge, match=rf"^the entry would be {limits.MAX_BODY_BYTES + 1} bytes; the limit"
    ):
        _made({"details": "x" * (room + 1)})
