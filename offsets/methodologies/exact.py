"""Exact arithmetic for the calculators: a Decimal numerator over a small integer denominator.

Two conversions of the science are not finite decimals: t C to t CO2 (x 44/12) and mu to hectares (/ 15).
Rounding them at some precision and then rounding the result down to whole kilograms could, in a
borderline case, round a quantity up across a kilogram. So every quantity is kept as
``numerator / denominator`` with an exact ``Decimal`` numerator (all additions and multiplications are done
in a context that traps any rounding) and an integer denominator, and is turned into a decimal only by
:meth:`Quotient.truncated`, which is exact integer division rounding towards zero. The net removals
reported are therefore the exact value truncated, never a rounded-up one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Underflow,
)

# Any operation that would have to round raises (Inexact/Rounded): the numerators are exact by construction,
# and the input limits (inputs.py: at most 15 integer and 12 fractional digits per number) keep products of
# a dozen factors far below this many digits.
EXACT = Context(prec=1000, traps=[Inexact, Rounded, InvalidOperation, Overflow, Underflow, DivisionByZero])

# Breakdown values and the net removals are shown to 6 decimal places of their unit (1 g for t), truncated
# towards zero. The net in kilograms is derived from the net at this precision, which truncates to the same
# whole kilograms as the exact value (truncation towards zero composes).
DISPLAY_PLACES = 6


@dataclass(frozen=True, slots=True)
class Quotient:
    """``numerator / denominator``, exactly. Build with :func:`exact`."""

    numerator: Decimal
    denominator: int = 1

    def __post_init__(self) -> None:
        assert isinstance(self.numerator, Decimal), self.numerator
        assert self.numerator.is_finite(), self.numerator
        assert isinstance(self.denominator, int), self.denominator
        assert self.denominator > 0, self.denominator

    def __add__(self, other: Quotient) -> Quotient:
        if self.denominator == other.denominator:
            return Quotient(EXACT.add(self.numerator, other.numerator), self.denominator)
        if other.denominator % self.denominator == 0:
            scale = Decimal(other.denominator // self.denominator)
            return Quotient(
                EXACT.add(EXACT.multiply(self.numerator, scale), other.numerator), other.denominator
            )
        if self.denominator % other.denominator == 0:
            return other + self
        left = EXACT.multiply(self.numerator, Decimal(other.denominator))
        right = EXACT.multiply(other.numerator, Decimal(self.denominator))
        return Quotient(EXACT.add(left, right), self.denominator * other.denominator)

    def __neg__(self) -> Quotient:
        return Quotient(EXACT.minus(self.numerator), self.denominator)

    def __sub__(self, other: Quotient) -> Quotient:
        return self + (-other)

    def __mul__(self, other: Quotient | Decimal) -> Quotient:
        if isinstance(other, Decimal):
            other = exact(other)
        return Quotient(EXACT.multiply(self.numerator, other.numerator), self.denominator * other.denominator)

    def is_zero(self) -> bool:
        return self.numerator.is_zero()

    def is_positive(self) -> bool:
        return self.numerator > 0

    def is_negative(self) -> bool:
        return self.numerator < 0

    def __lt__(self, other: Quotient) -> bool:
        return (self - other).is_negative()

    def __le__(self, other: Quotient) -> bool:
        return not (other < self)

    def truncated(self, places: int = DISPLAY_PLACES) -> Decimal:
        """The value to ``places`` decimal places, rounded towards zero (exact integer division)."""
        assert 0 <= places <= 30, places
        whole = EXACT.divide_int(EXACT.scaleb(self.numerator, Decimal(places)), Decimal(self.denominator))
        result = EXACT.scaleb(whole, Decimal(-places))
        return result.copy_abs() if result.is_zero() else result


def exact(value: Decimal) -> Quotient:
    """A finite Decimal as a quotient over 1."""
    return Quotient(value, 1)


ZERO = Quotient(Decimal(0), 1)


def ratio(numerator: Decimal, denominator: int) -> Quotient:
    """``numerator / denominator`` for a positive integer denominator (44/12, 1/15), exactly."""
    return Quotient(numerator, denominator)
