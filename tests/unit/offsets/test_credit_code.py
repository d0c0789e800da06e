"""统一社会信用代码 check digits (GB 32100-2015): weights 3^i mod 31 over a 31-character alphabet."""

from __future__ import annotations

import pytest

from offsets.errors import InvalidInput
from offsets.projects import CREDIT_CODE_ALPHABET, CREDIT_CODE_WEIGHTS, check_credit_code


def with_check_digit(first17: str) -> str:
    """Computed here independently: C18 = 31 - (sum of Ci * Wi mod 31), with 31 written as 0."""
    total = 0
    for position, char in enumerate(first17):
        total += CREDIT_CODE_ALPHABET.index(char) * pow(3, position, 31)
    return first17 + CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def test_the_weights_are_powers_of_three_modulo_31():
    assert list(CREDIT_CODE_WEIGHTS) == [pow(3, i, 31) for i in range(17)]


@pytest.mark.parametrize("first17", ["91510100MA61R8XX2", "12510000450717580", "52510100MJ1234567"])
def test_codes_with_their_check_digit_are_accepted(first17):
    code = with_check_digit(first17)
    assert check_credit_code(code) == code


@pytest.mark.parametrize("first17", ["91510100MA61R8XX2", "12510000450717580"])
def test_every_wrong_check_digit_is_refused(first17):
    good = with_check_digit(first17)
    for char in CREDIT_CODE_ALPHABET:
        if char != good[-1]:
            with pytest.raises(InvalidInput) as refused:
                check_credit_code(first17 + char)
            assert refused.value.field == "credit_code"


@pytest.mark.parametrize("code", ["", "915101", "91510100MA61R8XX2I", "9151010OMA61R8XX2A", None, 915101])
def test_malformed_codes_are_refused(code):
    with pytest.raises(InvalidInput):
        check_credit_code(code)
