"""Reading a monitoring report's inputs strictly: exact decimals, sources, limits, and the path of each field.

The inputs arrive as parsed JSON (or plain Python). :class:`Reader` walks them and raises
:class:`~offsets.methodologies.base.MethodologyInputError` with the dotted path of the offending field
(``strata.0.volume_end_m3_per_ha``) for anything missing, of the wrong type, out of range, or unknown.

Numbers must be decimal strings (``"12.5"``) or integers. Floats are refused: ``0.1`` as a binary float is
not 0.1, and a calculation that issues credits must start from the digits the surveyor wrote down. A number
has at most 15 integer and 12 fractional digits; more is not a measurement, and the bound keeps the exact
arithmetic of :mod:`offsets.methodologies.exact` small. Unknown keys are refused too, so that a misspelt
field (``volume_end_m3_ha``) is an error rather than a silently missing value.

The ``minimum``/``maximum`` limits passed by the calculators are plausibility guards against typing errors
(a stock of 20,000 m3/ha, an area of 10^8 ha), not science: they never change a result, they only refuse.

A :class:`DecimalField` states one decimal input once (key, meaning, unit, limits): the calculator reads
it with :meth:`Reader.read` and the methodology's input description (a JSON Schema, draft 2020-12) shows
it with :meth:`DecimalField.schema`, so that what is published is what is checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from offsets.methodologies.base import MethodologyInputError

_DECIMAL_TEXT = re.compile(r"-?(0|[1-9]\d{0,14})(\.\d{1,12})?")
MAX_INT_DIGITS = 15
MAX_TEXT_CHARS = 1000
MAX_LABEL_CHARS = 100


JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def join(path: str, key: str | int) -> str:
    return f"{path}.{key}" if path else str(key)


def parse_decimal(value: object, field: str) -> Decimal:
    """An exact Decimal from a decimal string, an int or a Decimal; floats, booleans and others refused."""
    if isinstance(value, bool):
        raise MethodologyInputError(field, f"must be a number as a decimal string, not {value!r}")
    if isinstance(value, float):
        raise MethodologyInputError(
            field,
            f'is a float ({value!r}); give it as a decimal string (e.g. "12.5") or an integer so that '
            "it stays exact",
        )
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_INT_DIGITS:
            raise MethodologyInputError(field, f"has more than {MAX_INT_DIGITS} digits")
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MethodologyInputError(field, f"must be a finite number, not {value}")
        value = format(value, "f")
    if not isinstance(value, str):
        raise MethodologyInputError(
            field, f'must be a decimal string such as "12.5", not {type(value).__name__}'
        )
    if not _DECIMAL_TEXT.fullmatch(value):
        raise MethodologyInputError(
            field,
            f"{value!r} is not a plain decimal number (digits, at most one point, optional leading minus; "
            f"at most {MAX_INT_DIGITS} integer and 12 fractional digits)",
        )
    number = Decimal(value)
    return number.copy_abs() if number.is_zero() else number


@dataclass(frozen=True, slots=True)
class DecimalField:
    """A decimal input, as the calculator reads it and as the input description shows it."""

    key: str
    description: str
    unit: str
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    exclusive_minimum: bool = False
    """``minimum`` itself is refused too (an area, a period)."""

    def schema(self) -> dict[str, Any]:
        """The field in JSON Schema: a decimal string or an integer, within the limits :meth:`Reader.read`
        applies. Standard validators check the limits on integers; a decimal string is checked by its
        pattern, and its limits are the same (the calculator applies them to both)."""
        schema: dict[str, Any] = {
            "type": ["string", "integer"],
            "pattern": f"^{_DECIMAL_TEXT.pattern}$",
            "format": "decimal",
            "description": f'{self.description} — a decimal string such as "12.5" or an integer; floats are '
            "refused",
            "unit": self.unit,
        }
        if self.minimum is not None:
            key = "exclusiveMinimum" if self.exclusive_minimum else "minimum"
            schema[key] = _json_number(self.minimum)
        if self.maximum is not None:
            schema["maximum"] = _json_number(self.maximum)
        return schema


def _json_number(value: Decimal) -> int | float:
    """A limit as a JSON number: an integer where it is one (every limit here is exact in a float too)."""
    integral = value.to_integral_value()
    if value == integral:
        return int(integral)
    assert Decimal(repr(float(value))) == value, value
    return float(value)


class Reader:
    """A mapping of inputs read field by field; :meth:`finish` refuses whatever was not read."""

    def __init__(self, value: object, path: str = "") -> None:
        if not isinstance(value, Mapping):
            raise MethodologyInputError(path or "inputs", f"must be an object, not {type(value).__name__}")
        for key in value:
            if not isinstance(key, str):
                raise MethodologyInputError(path or "inputs", f"has a non-text key {key!r}")
        self._value: Mapping[str, Any] = value
        self.path = path
        self._read: set[str] = set()

    def field(self, key: str) -> str:
        return join(self.path, key)

    def has(self, key: str) -> bool:
        return key in self._value and self._value[key] is not None

    def raw(self, key: str, *, required: bool = True) -> Any:
        self._read.add(key)
        if not self.has(key):
            if required:
                raise MethodologyInputError(self.field(key), "is required")
            return None
        return self._value[key]

    def decimal(
        self,
        key: str,
        *,
        minimum: Decimal | None = None,
        maximum: Decimal | None = None,
        exclusive_minimum: bool = False,
        unit: str = "",
    ) -> Decimal:
        value = parse_decimal(self.raw(key), self.field(key))
        check_range(
            value,
            self.field(key),
            minimum=minimum,
            maximum=maximum,
            exclusive_minimum=exclusive_minimum,
            unit=unit,
        )
        return value

    def read(self, field: DecimalField) -> Decimal:
        """The value of ``field``, within its limits."""
        return self.decimal(
            field.key,
            minimum=field.minimum,
            maximum=field.maximum,
            exclusive_minimum=field.exclusive_minimum,
            unit=field.unit,
        )

    def text(self, key: str, *, max_chars: int = MAX_TEXT_CHARS, required: bool = True) -> str:
        value = self.raw(key, required=required)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise MethodologyInputError(self.field(key), f"must be text, not {type(value).__name__}")
        if not value.strip():
            raise MethodologyInputError(self.field(key), "must not be empty")
        if len(value) > max_chars:
            raise MethodologyInputError(self.field(key), f"is longer than {max_chars} characters")
        return value.strip()

    def source(self, key: str = "source") -> str:
        """The document a measured or project-specific value comes from (a plot survey, a PDD section)."""
        value = self.raw(key, required=False)
        if not isinstance(value, str) or not value.strip():
            raise MethodologyInputError(
                self.field(key),
                "is required and must name where the value comes from "
                '(e.g. "项目实测样地 2023" or a PDD section)',
            )
        if len(value) > MAX_TEXT_CHARS:
            raise MethodologyInputError(self.field(key), f"is longer than {MAX_TEXT_CHARS} characters")
        return value.strip()

    def section(self, key: str, *, required: bool = True) -> Reader | None:
        value = self.raw(key, required=required)
        return None if value is None else Reader(value, self.field(key))

    def required_section(self, key: str) -> Reader:
        section = self.section(key)
        assert section is not None
        return section

    def sections(self, key: str, *, max_items: int) -> list[Reader]:
        value = self.raw(key)
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise MethodologyInputError(self.field(key), "must be a list")
        if not value:
            raise MethodologyInputError(self.field(key), "must not be empty")
        if len(value) > max_items:
            raise MethodologyInputError(self.field(key), f"has more than {max_items} items")
        return [Reader(item, join(self.field(key), index)) for index, item in enumerate(value)]

    def keys(self) -> tuple[str, ...]:
        return tuple(self._value)

    def refuse(self, key: str, message: str) -> None:
        if key in self._value:
            raise MethodologyInputError(self.field(key), message)
        self._read.add(key)

    def finish(self) -> None:
        unknown = [key for key in self._value if key not in self._read]
        if unknown:
            expected = ", ".join(sorted(self._read))
            raise MethodologyInputError(
                self.field(unknown[0]), f"is not an input here (expected: {expected})"
            )


def check_range(
    value: Decimal,
    field: str,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    exclusive_minimum: bool = False,
    unit: str = "",
) -> None:
    suffix = f" {unit}" if unit else ""
    if minimum is not None:
        if exclusive_minimum and value <= minimum:
            raise MethodologyInputError(field, f"must be greater than {minimum}{suffix}, got {value}")
        if value < minimum:
            kind = "negative" if minimum == 0 else f"below {minimum}{suffix}"
            raise MethodologyInputError(field, f"must not be {kind}, got {value}")
    if maximum is not None and value > maximum:
        raise MethodologyInputError(
            field, f"{value}{suffix} is implausibly large (more than {maximum}{suffix}); check the units"
        )
