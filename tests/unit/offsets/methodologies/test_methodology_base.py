"""The calculation record: rounding to whole kilograms, JSON form, and the exact quotient arithmetic."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from offsets.methodologies import Calculation, Parameter, Term, UnknownMethodology
from offsets.methodologies.exact import Quotient, ratio


def calculation(net_t: str) -> Calculation:
    term = Term("net_removals", "净", "net", "x", Decimal(net_t), "t CO2e", ())
    return Calculation("AR-CM-001-V01", Decimal(5), Decimal(net_t), (term,))


@pytest.mark.parametrize(
    ("net_t", "kg"),
    [
        ("0", 0),
        ("0.000999", 0),
        ("1.999999", 1999),
        ("1234.5678", 1234567),
        ("-0.000999", 0),
        ("-1.999999", -1999),
        ("-1234.5678", -1234567),
        ("99999999999.999999", 99999999999999),
    ],
)
def test_kilograms_round_towards_zero(net_t, kg):
    assert calculation(net_t).net_removals_kg() == kg


def test_as_dict_is_json_with_decimals_as_plain_strings():
    term = Term(
        "t",
        "项",
        "term",
        "a × b",
        Decimal("1E+3"),
        "t CO2e",
        (Parameter("a", "a", Decimal("0.10"), "1", "somewhere"),),
        (Term("u", "子", "sub", "c", Decimal("-0"), "t", ()),),
    )
    record = Calculation("X", Decimal("2.5"), Decimal("1000.5"), (term,)).as_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["terms"][0]["value"] == "1000"
    assert record["terms"][0]["parameters"][0]["value"] == "0.10"
    assert record["net_removals_t"] == "1000.5"
    assert record["net_removals_kg"] == 1000500
    assert record["period_years"] == "2.5"


def test_a_parameter_without_a_source_is_a_programming_error():
    with pytest.raises(AssertionError):
        Parameter("a", "a", Decimal(1), "1", " ")


def test_unknown_methodology_is_a_key_error_with_a_readable_message():
    error = UnknownMethodology("AR-CM-999", ("AR-CM-001-V01",))
    assert isinstance(error, KeyError)
    assert str(error) == "no methodology 'AR-CM-999'; the registered ones are AR-CM-001-V01"
    assert error.field == "methodology"


def test_quotients_are_exact_and_truncate_towards_zero():
    co2 = ratio(Decimal("0.5"), 1) * ratio(Decimal(44), 12)  # 1.8333… t
    assert co2.truncated(3) == Decimal("1.833")
    assert (-co2).truncated(3) == Decimal("-1.833")
    thirds = ratio(Decimal(1), 3) + ratio(Decimal(1), 3) + ratio(Decimal(1), 3)
    assert thirds.truncated(6) == Decimal(1)
    mixed = ratio(Decimal(1), 12) + ratio(Decimal(1), 15)  # 3/20
    assert mixed.truncated(6) == Decimal("0.15")
    assert ratio(Decimal(-1), 12) < Quotient(Decimal(0))
    assert (co2 - co2).truncated() == 0
