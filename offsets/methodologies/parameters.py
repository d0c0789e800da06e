"""The cited data the calculators use: default parameters, methodology rules and published worked examples.

Loads and validates ``offsets/data/parameters/`` (see its ``SOURCES.md``):

* ``tree_species.csv`` and ``grassland_wetland.csv`` — default parameters in long format, one value per row,
  each with the document, table and year it was read from. Lines starting with ``#`` are comments.
* ``methodology_rules.toml`` — per methodology id: the uncertainty, buffer and leakage rules (``found`` true
  or false, and when true the rule, its section and source) and other cited rules.
* ``worked_examples.toml`` — published examples of the stock-change formula, to be reproduced in tests.

Every row is checked (columns, exact decimal values, units of the parameters the calculators know, plausible
ranges, non-empty source and a year), and anything malformed raises :class:`ParameterDataError` naming the
file and line, so that a bad edit fails when the data is loaded rather than in the middle of a calculation.
The files are read whatever rows they hold: the research that fills them is still going on, and an absent
species simply means the monitoring report must give measured values. :func:`packaged` loads the packaged
files once per process.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

from offsets.methodologies.exact import EXACT
from offsets.regions import PROJECT_TYPES

DataPath: TypeAlias = Path | Traversable

CSV_COLUMNS = (
    "species_code",
    "species_zh",
    "species_en",
    "latin",
    "parameter",
    "value",
    "unit",
    "methodology_or_source",
    "table",
    "source_year",
    "note",
)
MAX_ROWS = 10_000
MAX_FIELD_CHARS = 2_000
_VALUE = re.compile(r"-?(0|[1-9]\d{0,14})(\.\d{1,12})?")
_PERCENT = re.compile(r"(0|[1-9]\d{0,2})(\.\d{1,6})?%")
_PARAMETER_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_YEAR = re.compile(r"(19|20)\d\d")
_DATE = re.compile(r"(19|20)\d\d-\d\d-\d\d")


class ParameterDataError(ValueError):
    """A data file under ``offsets/data/parameters/`` is malformed; the message names the file and line."""


def _normalise_unit(unit: str) -> str:
    """Lower case, without spaces or parenthetical comments: ``t d.m./m3 (容積密度)`` -> ``td.m./m3``."""
    unit = re.sub(r"\s*[(（][^()（）]*[)）]", "", unit)
    return (
        unit.strip()
        .lower()
        .replace("³", "3")
        .replace("⁻¹", "-1")
        .replace("·", "")
        .replace("−", "-")
        .replace(" ", "")
    )


_DIMENSIONLESS = ("dimensionless", "1", "-", "无量纲", "ratio", "t/t", "t d.m./t d.m.", "t d.m. / t d.m.")


@dataclass(frozen=True, slots=True)
class ParameterKind:
    """A parameter of the stock-change formulas: its symbol, unit, the spellings of that unit accepted, range.

    The range is a plausibility guard against typing errors (physically: a carbon fraction is at most 1,
    above-ground biomass is at least the stem biomass so BEF >= 1), not a value of the science.
    """

    name: str
    symbol: str
    label_zh: str
    label_en: str
    unit: str
    spellings: tuple[str, ...]  # the units accepted, as written (the canonical one first)
    unit_scales: Mapping[str, Decimal]  # normalised spelling -> factor to the canonical unit
    minimum: Decimal
    maximum: Decimal
    exclusive_minimum: bool

    def scale_of(self, unit: str) -> Decimal | None:
        return self.unit_scales.get(_normalise_unit(unit))

    def accepted_units(self) -> str:
        """The units accepted, as written; letter case, spaces and a comment in brackets do not matter."""
        return ", ".join(repr(u) for u in self.spellings)


def _kind(
    *,
    name: str,
    symbol: str,
    label_zh: str,
    label_en: str,
    unit: str,
    spellings: tuple[str, ...],
    minimum: str,
    maximum: str,
    exclusive_minimum: bool,
    percent: bool = False,
) -> ParameterKind:
    written = (unit, *spellings, *(("%",) if percent else ()))
    scales = {_normalise_unit(s): Decimal(1) for s in (unit, *spellings)}
    if percent:
        scales["%"] = Decimal("0.01")  # unit conversion: percent to a fraction
    return ParameterKind(
        name=name,
        symbol=symbol,
        label_zh=label_zh,
        label_en=label_en,
        unit=unit,
        spellings=tuple(dict.fromkeys(written)),
        unit_scales=MappingProxyType(scales),
        minimum=Decimal(minimum),
        maximum=Decimal(maximum),
        exclusive_minimum=exclusive_minimum,
    )


BASIC_WOOD_DENSITY = _kind(
    name="basic_wood_density",
    symbol="SVD",
    label_zh="基本木材密度",
    label_en="basic wood density",
    unit="t d.m./m3",
    spellings=("t/m3", "t d.m. m-3", "t m-3", "t dm/m3", "g/cm3"),
    minimum="0",
    maximum="1.5",  # the densest timbers are about 1.2 t/m3
    exclusive_minimum=True,
)
BIOMASS_EXPANSION_FACTOR = _kind(
    name="bef",
    symbol="BEF",
    label_zh="生物量扩展因子",
    label_en="biomass expansion factor (stem to above-ground biomass)",
    unit="dimensionless",
    spellings=(
        *_DIMENSIONLESS,
        "t AGB d.m. / t stem d.m.",
        "t AGB / t stem",
        "t d.m. above-ground / t d.m. stem",
    ),
    minimum="1",  # above-ground biomass includes the stem
    maximum="10",
    exclusive_minimum=False,
)
ROOT_SHOOT_RATIO = _kind(
    name="root_shoot_ratio",
    symbol="R",
    label_zh="根茎比",
    label_en="root-to-shoot ratio",
    unit="t d.m. below-ground / t d.m. above-ground",
    spellings=(*_DIMENSIONLESS, "t below-ground / t above-ground"),
    minimum="0",
    maximum="5",
    exclusive_minimum=False,
)
CARBON_FRACTION = _kind(
    name="carbon_fraction",
    symbol="CF",
    label_zh="生物量含碳率",
    label_en="carbon fraction of dry matter",
    unit="t C/t d.m.",
    spellings=(*_DIMENSIONLESS, "t C (t d.m.)-1", "t C t-1 d.m.", "t C/t dm", "g C/g d.m."),
    minimum="0",
    maximum="1",
    exclusive_minimum=True,
    percent=True,
)
KINDS: Mapping[str, ParameterKind] = MappingProxyType(
    {k.name: k for k in (BASIC_WOOD_DENSITY, BIOMASS_EXPANSION_FACTOR, ROOT_SHOOT_RATIO, CARBON_FRACTION)}
)


@dataclass(frozen=True, slots=True)
class DefaultValue:
    """One cited default parameter value (a row of ``tree_species.csv`` or ``grassland_wetland.csv``)."""

    species_code: str
    species_zh: str
    species_en: str
    latin: str
    parameter: str
    value: Decimal  # in ``unit``; for a parameter of KINDS, converted to the kind's canonical unit
    unit: str
    printed: str  # the value and unit exactly as the row gives them
    methodology_or_source: str
    table: str
    source_year: int
    note: str
    file: str
    line: int

    @property
    def citation(self) -> str:
        """The source as the breakdown shows it: document, table, year, and the data row it was read from."""
        where = ", ".join(part for part in (self.methodology_or_source, self.table) if part)
        # The note says when the value was read in a transcription rather than the document itself.
        secondary = "; secondary transcription (see its note)" if "secondary" in self.note.lower() else ""
        row = f"{self.file} row {self.species_code}/{self.parameter}"
        return f"{where} ({self.source_year}){secondary}; {row}"


@dataclass(frozen=True, slots=True)
class AllowableExcessRule:
    """No deduction up to an allowable uncertainty, the excess deducted above it (VM0033 §8.5.2 Eq. 92 form).

    ``adjusted = X × (100 % − U + allowable)`` when U > allowable, at the confidence levels listed.
    """

    allowable_percent_by_confidence: Mapping[Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class DiscountBand:
    """``lower < U <= upper`` (in %; no lower: from 0, no upper: unbounded) and its discount, % of U."""

    lower_exclusive_percent: Decimal | None
    upper_inclusive_percent: Decimal | None
    discount_percent_of_u: Decimal

    def contains(self, uncertainty_percent: Decimal) -> bool:
        above = self.lower_exclusive_percent is None or uncertainty_percent > self.lower_exclusive_percent
        below = self.upper_inclusive_percent is None or uncertainty_percent <= self.upper_inclusive_percent
        return above and below


@dataclass(frozen=True, slots=True)
class DiscountTableRule:
    """A discount of d(U) % of the confidence-interval half-width, by band of U (AR-TOOL14 Appendix 2 form).

    ``X_cons = X − d(U) × U × X`` for a project estimate, at one confidence level.
    """

    confidence_percent: Decimal
    bands: tuple[DiscountBand, ...]

    def discount_percent_of_u(self, uncertainty_percent: Decimal) -> Decimal:
        matches = [b for b in self.bands if b.contains(uncertainty_percent)]
        assert len(matches) == 1, (
            uncertainty_percent,
            self.bands,
        )  # the loader checked the bands tile [0, ∞)
        return matches[0].discount_percent_of_u


UncertaintyRule: TypeAlias = AllowableExcessRule | DiscountTableRule


@dataclass(frozen=True, slots=True)
class RuleSection:
    """``[methodologies."<id>".uncertainty]`` (``.buffer``, ``.leakage``): found or not, and what was read.

    ``uncertainty_rule`` holds a found uncertainty rule parsed into a form the calculators can apply, or
    None where its form is not one they know (the calculators then refuse to use it).
    """

    found: bool
    fields: Mapping[str, Any]
    source: str
    section: str
    secondary: bool = False
    uncertainty_rule: UncertaintyRule | None = None

    @property
    def citation(self) -> str:
        url = self.fields.get("source_url")
        parts = [self.source, self.section]
        if isinstance(url, str) and url:
            parts.append(url)
        if self.secondary:
            parts.append("secondary source")
        return "; ".join(p for p in parts if p)


NOT_FOUND = RuleSection(found=False, fields=MappingProxyType({}), source="", section="")


@dataclass(frozen=True, slots=True)
class MethodologyRules:
    """What ``methodology_rules.toml`` records of one methodology."""

    id: str
    name: str
    year: int | None
    project_type: str | None
    uncertainty: RuleSection
    buffer: RuleSection
    leakage: RuleSection
    rules: tuple[Mapping[str, Any], ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class WorkedExample:
    """A published example of the stock-change formula: inputs and the outputs as printed."""

    id: str
    kind: str  # "stock_change_formula" (the default), "uncertainty_discount", ...
    citation: str
    url: str
    methodology: str
    species_zh: str
    inputs: Mapping[str, Decimal]
    published_outputs: Mapping[str, Decimal]
    printed_outputs: Mapping[str, str]  # exactly as printed, to read the published rounding from
    approximate: frozenset[str]  # outputs printed as approximate (約304)
    units: Mapping[str, str]
    rounding: str


@dataclass(frozen=True, slots=True)
class ParameterData:
    """All the validated parameter data, with the look-ups the calculators need."""

    tree_defaults: tuple[DefaultValue, ...]
    ecosystem_defaults: tuple[DefaultValue, ...]
    rules: Mapping[str, MethodologyRules]
    examples: tuple[WorkedExample, ...]
    examples_status: str
    _by_species: Mapping[str, tuple[DefaultValue, ...]] = field(default_factory=dict, repr=False)

    def species_codes(self, key: str) -> tuple[str, ...]:
        """Codes of the tree-species rows that ``key`` names: by code, Chinese, English or Latin name."""
        if key in self._by_species:
            return (key,)
        found = []
        for code, rows in self._by_species.items():
            row = rows[0]
            if key in (row.species_zh, row.species_en) or (row.latin and key == row.latin):
                found.append(code)
        return tuple(found)

    def defaults(self, species_code: str, parameter: str) -> tuple[DefaultValue, ...]:
        return tuple(r for r in self._by_species.get(species_code, ()) if r.parameter == parameter)

    def rules_for(self, methodology_id: str) -> MethodologyRules:
        try:
            return self.rules[methodology_id]
        except KeyError:
            raise ParameterDataError(
                f'methodology_rules.toml has no [methodologies."{methodology_id}"] table'
            ) from None


# --- loading -----------------------------------------------------------------------------------------------

_DATA: Traversable = files("offsets") / "data" / "parameters"
DATA_FILES = ("tree_species.csv", "grassland_wetland.csv", "methodology_rules.toml", "worked_examples.toml")


def load(
    tree_species: DataPath | None = None,
    grassland_wetland: DataPath | None = None,
    methodology_rules: DataPath | None = None,
    worked_examples: DataPath | None = None,
) -> ParameterData:
    """Parse and validate the four files (the packaged ones unless paths are given)."""
    tree = _load_defaults(tree_species or _DATA / DATA_FILES[0])
    ecosystem = _load_defaults(grassland_wetland or _DATA / DATA_FILES[1])
    rules = _load_rules(methodology_rules or _DATA / DATA_FILES[2])
    status, examples = _load_examples(worked_examples or _DATA / DATA_FILES[3])
    by_species: dict[str, list[DefaultValue]] = {}
    for row in tree:
        by_species.setdefault(row.species_code, []).append(row)
    return ParameterData(
        tree_defaults=tree,
        ecosystem_defaults=ecosystem,
        rules=MappingProxyType(rules),
        examples=examples,
        examples_status=status,
        _by_species=MappingProxyType({code: tuple(rows) for code, rows in by_species.items()}),
    )


@cache
def packaged() -> ParameterData:
    """The packaged data files, loaded and validated once per process."""
    return load()


def _name(path: DataPath) -> str:
    return path.name


def _csv_rows(path: DataPath) -> Iterator[tuple[int, list[str]]]:
    """Rows of a CSV whose comment lines start with ``#``, each with its line number in the file."""
    kept = [
        (number, line)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(keepends=True), start=1)
        if not line.startswith("#")
    ]
    reader = csv.reader([line for _, line in kept])
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        yield kept[reader.line_num - 1][0], row


def _load_defaults(path: DataPath) -> tuple[DefaultValue, ...]:
    name = _name(path)
    rows = _csv_rows(path)
    header = next(rows, None)
    if header is None or tuple(c.strip() for c in header[1]) != CSV_COLUMNS:
        got = ",".join(header[1]) if header else "nothing"
        raise ParameterDataError(f"{name}: header must be {','.join(CSV_COLUMNS)}, got {got}")
    seen: set[tuple[str, str, str, str]] = set()
    zh_of: dict[str, str] = {}
    values: list[DefaultValue] = []
    for line, cells in rows:
        if len(values) >= MAX_ROWS:
            raise ParameterDataError(f"{name}: more than {MAX_ROWS} rows")
        row = _default_row(name, line, cells)
        key = (row.species_code, row.parameter, row.methodology_or_source, row.table)
        if key in seen:
            raise ParameterDataError(
                f"{name}:{line}: duplicate row for {row.species_code}/{row.parameter} from the same source"
            )
        seen.add(key)
        if zh_of.setdefault(row.species_code, row.species_zh) != row.species_zh:
            raise ParameterDataError(
                f"{name}:{line}: species_code {row.species_code} is named {row.species_zh!r} here but "
                f"{zh_of[row.species_code]!r} on an earlier row"
            )
        values.append(row)
    return tuple(values)


def _default_row(name: str, line: int, cells: list[str]) -> DefaultValue:
    def fail(message: str) -> ParameterDataError:
        return ParameterDataError(f"{name}:{line}: {message}")

    if len(cells) != len(CSV_COLUMNS):
        raise fail(f"expected {len(CSV_COLUMNS)} fields, got {len(cells)}")
    row = dict(zip(CSV_COLUMNS, (c.strip() for c in cells), strict=True))
    for column, text in row.items():
        if len(text) > MAX_FIELD_CHARS:
            raise fail(f"{column} is longer than {MAX_FIELD_CHARS} characters")
    for column in ("species_code", "species_zh", "parameter", "value", "unit", "methodology_or_source"):
        if not row[column]:
            raise fail(f"{column} is empty")
    if not _PARAMETER_NAME.fullmatch(row["parameter"]):
        raise fail(f"parameter {row['parameter']!r} is not a snake_case name")
    if not _VALUE.fullmatch(row["value"]):
        raise fail(f"value {row['value']!r} is not a plain decimal number")
    if not _YEAR.fullmatch(row["source_year"]):
        raise fail(f"source_year {row['source_year']!r} is not a year")
    value = Decimal(row["value"])
    unit = row["unit"]
    kind = KINDS.get(row["parameter"])
    if kind is not None:
        scale = kind.scale_of(unit)
        if scale is None:
            raise fail(f"unit {unit!r} of {kind.name} is not one of {kind.accepted_units()}")
        value = EXACT.multiply(value, scale)
        unit = kind.unit
        low_ok = value > kind.minimum if kind.exclusive_minimum else value >= kind.minimum
        if not low_ok or value > kind.maximum:
            raise fail(f"{kind.name} {row['value']} {row['unit']} is outside {kind.minimum}..{kind.maximum}")
    return DefaultValue(
        species_code=row["species_code"],
        species_zh=row["species_zh"],
        species_en=row["species_en"],
        latin=row["latin"],
        parameter=row["parameter"],
        value=value,
        unit=unit,
        printed=f"{row['value']} {row['unit']}",
        methodology_or_source=row["methodology_or_source"],
        table=row["table"],
        source_year=int(row["source_year"]),
        note=row["note"],
        file=name,
        line=line,
    )


def _toml(path: DataPath) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ParameterDataError(f"{_name(path)}: {error}") from None


def _text(table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = table.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ParameterDataError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def parse_percent(text: object, where: str) -> Decimal:
    """``"20%"`` as Decimal 20."""
    if not isinstance(text, str) or not _PERCENT.fullmatch(text.strip()):
        raise ParameterDataError(f'{where}: {text!r} is not a percentage such as "20%"')
    return Decimal(text.strip()[:-1])


_BAND = re.compile(
    r"(?:(?P<lower>\d+(?:\.\d+)?)\s*%\s*<\s*)?U\s*(?:(?P<op><=|≤|>)\s*(?P<bound>\d+(?:\.\d+)?)\s*%)?"
)


def _discount_table(fields: Mapping[str, Any], where: str) -> DiscountTableRule:
    table = fields.get("table")
    if not isinstance(table, list) or not table:
        raise ParameterDataError(f"{where}: table must be a non-empty array of bands")
    bands: list[DiscountBand] = []
    for index, item in enumerate(table):
        at = f"{where}.table[{index}]"
        if not isinstance(item, Mapping):
            raise ParameterDataError(f"{at} must be a table")
        text = item.get("uncertainty")
        match = _BAND.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ParameterDataError(f'{at}: uncertainty {text!r} is not a band such as "10% < U <= 15%"')
        lower = Decimal(match["lower"]) if match["lower"] else None
        upper = None
        if match["op"] in ("<=", "≤"):
            upper = Decimal(match["bound"])
        elif match["op"] == ">":
            if lower is not None:
                raise ParameterDataError(f"{at}: {text!r} has two lower bounds")
            lower = Decimal(match["bound"])
        discount = _decimal_field(item, "discount_pct_of_U", at)
        if not Decimal(0) <= discount <= Decimal(100):
            raise ParameterDataError(f"{at}: discount_pct_of_U {discount} is not a percentage")
        bands.append(DiscountBand(lower, upper, discount))
    # The bands must tile [0 %, ∞) without gaps or overlaps, in order.
    previous: Decimal | None = None
    for index, band in enumerate(bands):
        if band.lower_exclusive_percent != previous or (
            index == 0 and band.lower_exclusive_percent is not None
        ):
            raise ParameterDataError(f"{where}: table bands must follow each other from 0 % without gaps")
        if band.upper_inclusive_percent is None and index != len(bands) - 1:
            raise ParameterDataError(f"{where}: only the last band may be open-ended")
        previous = band.upper_inclusive_percent
    if bands[-1].upper_inclusive_percent is not None:
        raise ParameterDataError(f"{where}: the last band must be open-ended (U > ...)")
    return DiscountTableRule(
        parse_percent(fields.get("confidence_level"), f"{where}.confidence_level"), tuple(bands)
    )


def _allowable_excess(fields: Mapping[str, Any], where: str) -> AllowableExcessRule:
    if (
        "allowable_error" in fields
    ):  # one level: confidence_level + allowable_error (Gold Standard 403 wording)
        levels: object = [fields.get("confidence_level")]
        allowable: object = [fields.get("allowable_error")]
    else:
        levels, allowable = fields.get("confidence_levels"), fields.get("allowable_uncertainty")
    if not isinstance(levels, list) or not isinstance(allowable, list) or len(levels) != len(allowable):
        raise ParameterDataError(
            f"{where}: confidence_levels and allowable_uncertainty must be lists of the same length"
        )
    return AllowableExcessRule(
        MappingProxyType(
            {
                parse_percent(level, f"{where}.confidence_levels"): parse_percent(limit, f"{where}.allowable")
                for level, limit in zip(levels, allowable, strict=True)
            }
        )
    )


def _uncertainty_rule(fields: Mapping[str, Any], where: str) -> UncertaintyRule | None:
    if "table" in fields:
        return _discount_table(fields, where)
    if any(k in fields for k in ("allowable_uncertainty", "confidence_levels", "allowable_error")):
        return _allowable_excess(fields, where)
    return None


def _section(table: Mapping[str, Any], key: str, where: str) -> RuleSection:
    """A rule section; a found one needs a source (its own or the methodology's) and a section."""
    value = table.get(key)
    if value is None:
        return NOT_FOUND
    where = f"{where}.{key}"
    if not isinstance(value, Mapping):
        raise ParameterDataError(f"{where} must be a table")
    found = value.get("found")
    if not isinstance(found, bool):
        raise ParameterDataError(f"{where}: found must be true or false")
    fields = MappingProxyType(dict(value))
    if not found:
        return RuleSection(found=False, fields=fields, source="", section="")
    source = next(
        (
            text.strip()
            for text in (value.get("source"), table.get("source"), table.get("source_A"))
            if isinstance(text, str) and text.strip()
        ),
        "",
    )
    if not source:
        raise ParameterDataError(f"{where}: a found rule needs a source (in the section or the methodology)")
    section = _text(value, "section", where)
    if "value" in value and not (
        isinstance(value["value"], str)
        and (_VALUE.fullmatch(value["value"].strip()) or _PERCENT.fullmatch(value["value"].strip()))
    ):
        raise ParameterDataError(
            f"{where}: value {value['value']!r} must be a decimal or a percentage string"
        )
    kind = value.get("source_kind", table.get("source_kind", ""))
    return RuleSection(
        found=True,
        fields=fields,
        source=source,
        section=section,
        secondary=isinstance(kind, str) and kind.startswith("secondary"),
        uncertainty_rule=_uncertainty_rule(value, where) if key == "uncertainty" else None,
    )


def _decimal_field(table: Mapping[str, Any], key: str, where: str) -> Decimal:
    value = table.get(key)
    if not isinstance(value, str) or not _VALUE.fullmatch(value.strip()):
        raise ParameterDataError(f"{where}: {key} {value!r} must be a plain decimal number as a string")
    return Decimal(value.strip())


def _year(table: Mapping[str, Any], where: str) -> int | None:
    value = table.get("year")
    if value is None:
        return None
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not _YEAR.fullmatch(text):
        raise ParameterDataError(f"{where}: year {value!r} is not a year")
    return int(text)


def _load_rules(path: DataPath) -> dict[str, MethodologyRules]:
    name = _name(path)
    document = _toml(path)
    research = document.get("research")
    if research is not None and (
        not isinstance(research, Mapping) or not _DATE.fullmatch(str(research.get("date", "")))
    ):
        raise ParameterDataError(f"{name}: [research] date must be an ISO date (YYYY-MM-DD)")
    methodologies = document.get("methodologies")
    if not isinstance(methodologies, Mapping) or not methodologies:
        raise ParameterDataError(f'{name}: no [methodologies."<id>"] tables')
    rules: dict[str, MethodologyRules] = {}
    for methodology_id, table in methodologies.items():
        where = f'{name}: methodologies."{methodology_id}"'
        if not isinstance(table, Mapping):
            raise ParameterDataError(f"{where} must be a table")
        title = _text(table, "name_zh", where, required=False) or _text(table, "name", where, required=False)
        if not title:
            raise ParameterDataError(f"{where}: name_zh or name must be given")
        project_type = table.get("project_type")
        if project_type is not None and project_type not in PROJECT_TYPES:
            raise ParameterDataError(f"{where}: project_type {project_type!r} is not one of {PROJECT_TYPES}")
        items = table.get("rules", [])
        if not isinstance(items, list):
            raise ParameterDataError(f"{where}: rules must be an array of tables")
        ids: set[str] = set()
        for index, item in enumerate(items):
            at = f"{where}.rules[{index}]"
            if not isinstance(item, Mapping):
                raise ParameterDataError(f"{at} must be a table")
            rule_id = _text(item, "id", at)
            if rule_id in ids:
                raise ParameterDataError(f"{at}: duplicate rule id {rule_id}")
            ids.add(rule_id)
            _text(item, "source", at)
            _text(item, "section", at, required=False)
            if "unit" in item:  # a quantity with a unit must be a number
                _decimal_field(item, "value", at)
        note = table.get("note", "")
        rules[methodology_id] = MethodologyRules(
            id=methodology_id,
            name=title,
            year=_year(table, where),
            project_type=project_type,
            uncertainty=_section(table, "uncertainty", where),
            buffer=_section(table, "buffer", where),
            leakage=_section(table, "leakage", where),
            rules=tuple(MappingProxyType(dict(item)) for item in items),
            note=note if isinstance(note, str) else "",
        )
    return rules


_APPROXIMATE = ("約", "约", "≈", "~", "about ")


def _decimals(
    table: object, where: str, *, approximate_allowed: bool = False
) -> tuple[dict[str, Decimal], dict[str, str], frozenset[str]]:
    if not isinstance(table, Mapping) or not table:
        raise ParameterDataError(f"{where} must be a non-empty table of decimal strings")
    values: dict[str, Decimal] = {}
    printed: dict[str, str] = {}
    approximate: set[str] = set()
    for key, raw in table.items():
        if not isinstance(key, str) or not _PARAMETER_NAME.fullmatch(key):
            raise ParameterDataError(f"{where}: {key!r} is not a snake_case name")
        text = raw.strip() if isinstance(raw, str) else raw
        if approximate_allowed and isinstance(text, str):
            for marker in _APPROXIMATE:
                if text.startswith(marker):
                    text = text[len(marker) :].strip()
                    approximate.add(key)
        values[key] = _decimal_field({key: text}, key, where)
        printed[key] = str(text)
    return values, printed, frozenset(approximate)


def _load_examples(path: DataPath) -> tuple[str, tuple[WorkedExample, ...]]:
    name = _name(path)
    document = _toml(path)
    status = document.get("status", "")
    if not isinstance(status, str):
        raise ParameterDataError(f"{name}: status must be a string")
    items = document.get("examples", [])
    if not isinstance(items, list):
        raise ParameterDataError(f"{name}: examples must be an array of tables")
    examples: list[WorkedExample] = []
    ids: set[str] = set()
    for index, item in enumerate(items):
        where = f"{name}: examples[{index}]"
        if not isinstance(item, Mapping):
            raise ParameterDataError(f"{where} must be a table")
        example_id = _text(item, "id", where)
        if example_id in ids:
            raise ParameterDataError(f"{where}: duplicate id {example_id}")
        ids.add(example_id)
        inputs, _, _ = _decimals(item.get("inputs"), f"{where}.inputs")
        outputs, printed, approximate = _decimals(
            item.get("published_outputs"), f"{where}.published_outputs", approximate_allowed=True
        )
        units = item.get("units", {})
        if not isinstance(units, Mapping) or not all(isinstance(v, str) for v in units.values()):
            raise ParameterDataError(f"{where}.units must be a table of strings")
        examples.append(
            WorkedExample(
                id=example_id,
                kind=_text(item, "kind", where, required=False) or "stock_change_formula",
                citation=_text(item, "citation", where),
                url=_text(item, "url", where, required=False)
                or _text(item, "copy_read", where, required=False),
                methodology=_text(item, "methodology", where, required=False),
                species_zh=_text(item, "species_zh", where, required=False),
                inputs=MappingProxyType(inputs),
                published_outputs=MappingProxyType(outputs),
                printed_outputs=MappingProxyType(printed),
                approximate=approximate,
                units=MappingProxyType({str(k): str(v) for k, v in units.items()}),
                rounding=_text(item, "rounding", where, required=False),
            )
        )
    return status, tuple(examples)
