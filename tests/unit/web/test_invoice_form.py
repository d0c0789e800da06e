"""The registry's "invoice paid" form: an amount typed in 元 or in fen becomes whole fen exactly, or an
error code naming what is wrong (worded by the page)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.pages.invoice_form import read_amount_fen, read_invoice_payment

MAX_FEN = 10**15


@pytest.mark.parametrize(
    ("typed", "unit", "expected"),
    [
        ("12.34", "yuan", (1234, None)),
        ("1,234.5 元", "yuan", (123450, None)),
        ("1，234", "yuan", (123400, None)),
        (" 0.01 ", "yuan", (1, None)),
        ("1234", "fen", (1234, None)),
        ("", "yuan", (None, "required")),
        ("  元", "yuan", (None, "required")),
        ("1" * 25, "yuan", (None, "too_large")),
        ("1e14", "yuan", (None, "too_large")),
        ("9999999999999", "yuan", (999999999999900, None)),
        ("abc", "yuan", (None, "number")),
        ("NaN", "yuan", (None, "number")),
        ("-Infinity", "yuan", (None, "number")),
        ("1.005", "yuan", (None, "fen_precision")),
        ("0", "yuan", (None, "positive")),
        ("-1", "yuan", (None, "positive")),
        ("12.5", "fen", (None, "whole_fen")),
        ("-3", "fen", (None, "whole_fen")),
        ("0", "fen", (None, "positive")),
    ],
)
def test_an_amount_reads_as_whole_fen_or_names_what_is_wrong(typed, unit, expected):
    assert read_amount_fen(typed, unit) == expected


@given(st.integers(min_value=1, max_value=MAX_FEN))
def test_any_amount_reads_back_exactly_in_yuan_and_in_fen(amount_fen):
    yuan, fen = divmod(amount_fen, 100)
    assert read_amount_fen(f"{yuan:,}.{fen:02d}", "yuan") == (amount_fen, None)
    assert read_amount_fen(str(amount_fen), "fen") == (amount_fen, None)


def test_the_form_checks_the_reference_and_the_api_s_limit_and_defaults_to_yuan():
    payment, errors = read_invoice_payment({"amount": "12.34", "reference": " BANK-1 "})
    assert errors == {}
    assert (payment.amount_fen, payment.reference) == (1234, "BANK-1")
    unknown_unit, _ = read_invoice_payment({"amount": "1234", "unit": "dollars", "reference": "B"})
    assert unknown_unit.amount_fen == 123400
    assert read_invoice_payment({"amount": "", "reference": ""}) == (
        None,
        {"amount": "required", "reference": "required"},
    )
    assert read_invoice_payment({"amount": "1", "reference": "=cmd|evil"})[1] == {"reference": "reference"}
    over_limit = str(MAX_FEN + 1)
    assert read_invoice_payment({"amount": over_limit, "unit": "fen", "reference": "B"})[1] == {
        "amount": "too_large"
    }
