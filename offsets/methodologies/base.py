"""What every methodology calculator returns and refuses: parameters, itemised terms, the calculation, errors.

A :class:`Calculation` is the net removals of one monitoring period together with a nested, itemised
breakdown (:class:`Term`): each term's formula, its value and unit, and every :class:`Parameter` that went
into it with the source that parameter came from (a cited data file row, a methodology rule, or the
monitoring report's own measured value and the document it is recorded in). The API returns the breakdown
as :meth:`Calculation.as_dict`, and the portal shows it; a verifier can recompute every figure from it.

Quantities are ``decimal.Decimal`` throughout. The single place where a result becomes an integer is
:meth:`Calculation.net_removals_kg`, which rounds towards zero: down for removals (never over-issue), and a
loss is not overstated either (CONVENTIONS.md, "Units in names, integers in storage").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Context, Decimal
from typing import Any, Protocol

# Enough digits for any net removal the input limits allow (10^7 ha x 2,000 m3/ha x ... is far below 10^20 t),
# so that moving the decimal point never rounds.
_KG_CONTEXT = Context(prec=60)
KG_PER_T = 1000  # unit conversion


def decimal_text(value: Decimal) -> str:
    """A Decimal as a plain decimal string (never exponent notation), for JSON."""
    assert value.is_finite(), value
    return format(value, "f")


class MethodologyInputError(ValueError):
    """A monitoring report's inputs that a methodology refuses: missing, negative, absurd, a float, unknown.

    ``field`` is the dotted path of the offending input (``strata.0.volume_end_m3_per_ha``), so that the
    API can point at it in an ``application/problem+json`` answer.
    """

    code = "invalid-methodology-input"
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class UnknownMethodology(KeyError):
    """No methodology with that id is registered."""

    code = "unknown-methodology"
    status = 404

    def __init__(self, methodology_id: str, known: tuple[str, ...]) -> None:
        message = f"no methodology {methodology_id!r}; the registered ones are {', '.join(known)}"
        super().__init__(message)
        self.field = "methodology"
        self.message = message
        self.methodology_id = methodology_id

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return self.message


@dataclass(frozen=True, slots=True)
class Parameter:
    """One number a term used, with the source it came from."""

    name: str
    symbol: str
    value: Decimal
    unit: str
    source: str

    def __post_init__(self) -> None:
        assert isinstance(self.value, Decimal), (self.name, self.value)
        assert self.value.is_finite(), (self.name, self.value)
        assert self.name, self
        assert self.symbol, self
        assert self.source.strip(), f"parameter {self.name} has no source"

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "symbol": self.symbol,
            "value": decimal_text(self.value),
            "unit": self.unit,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Term:
    """One item of the breakdown: its formula, value, unit, parameters, and the terms it is made of."""

    key: str
    label_zh: str
    label_en: str
    formula: str
    value: Decimal
    unit: str
    parameters: tuple[Parameter, ...]
    terms: tuple[Term, ...] = ()

    def __post_init__(self) -> None:
        assert isinstance(self.value, Decimal), (self.key, self.value)
        assert self.value.is_finite(), (self.key, self.value)
        assert all((self.key, self.label_zh, self.label_en, self.formula)), self.key
        assert all(isinstance(p, Parameter) for p in self.parameters), self.key
        assert all(isinstance(t, Term) for t in self.terms), self.key

    def walk(self) -> tuple[Term, ...]:
        """This term and every term nested in it, depth first."""
        return (self, *(nested for term in self.terms for nested in term.walk()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "formula": self.formula,
            "value": decimal_text(self.value),
            "unit": self.unit,
            "parameters": [p.as_dict() for p in self.parameters],
            "terms": [t.as_dict() for t in self.terms],
        }


@dataclass(frozen=True, slots=True)
class Calculation:
    """The net removals (t CO2e) of one monitoring period by one methodology, with its breakdown."""

    methodology: str
    period_years: Decimal
    net_removals_t: Decimal
    terms: tuple[Term, ...]

    def __post_init__(self) -> None:
        assert isinstance(self.net_removals_t, Decimal), self.net_removals_t
        assert self.net_removals_t.is_finite(), self.net_removals_t
        assert isinstance(self.period_years, Decimal), self.period_years
        assert self.period_years > 0, self.period_years
        assert self.terms, "a calculation without a breakdown"

    def net_removals_kg(self) -> int:
        """Whole kilograms, rounded towards zero: removals down, and a loss is not overstated either."""
        kg = _KG_CONTEXT.multiply(self.net_removals_t, Decimal(KG_PER_T))
        whole = int(kg.to_integral_value(rounding=ROUND_DOWN))
        assert abs(whole) <= abs(kg) < abs(whole) + 1
        return whole

    def walk(self) -> tuple[Term, ...]:
        return tuple(nested for term in self.terms for nested in term.walk())

    def parameters(self) -> tuple[Parameter, ...]:
        """Every parameter of every term, depth first (with repeats)."""
        return tuple(p for term in self.walk() for p in term.parameters)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: Decimals as plain decimal strings, the kilograms as an integer."""
        return {
            "methodology": self.methodology,
            "period_years": decimal_text(self.period_years),
            "net_removals_t": decimal_text(self.net_removals_t),
            "net_removals_kg": self.net_removals_kg(),
            "terms": [t.as_dict() for t in self.terms],
        }


class Methodology(Protocol):
    """A methodology calculator: identity, citation, a description of its inputs, and the calculation."""

    @property
    def id(self) -> str: ...  # e.g. "AR-CM-001-V01"

    @property
    def title_zh(self) -> str: ...

    @property
    def title_en(self) -> str: ...

    @property
    def project_types(self) -> tuple[str, ...]: ...  # codes as in offsets.regions.PROJECT_TYPES

    @property
    def source(self) -> str: ...  # the citation of the methodology (and of what was read of it)

    def input_description(self) -> dict[str, Any]:
        """A JSON Schema (draft 2020-12) of the inputs :meth:`calculate` accepts."""
        ...

    def rule_sources(self) -> dict[str, Any]:
        """The cited rules :meth:`calculate` applies for leakage and the uncertainty deduction, and every
        rule table it consulted for them, found or not, with the research's notes (JSON-safe)."""
        ...

    def check_rules(self) -> None:
        """Raise ParameterDataError if the parameter data hold a rule for this methodology that
        :meth:`calculate` cannot apply (run at start-up by ``offsets.reference_data``)."""
        ...

    def calculate(self, inputs: Mapping[str, Any]) -> Calculation:
        """The net removals of the monitoring period; :class:`MethodologyInputError` for bad inputs."""
        ...
