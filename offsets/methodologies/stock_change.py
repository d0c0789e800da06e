"""Carbon stock change of measured strata: the engine of the tree, bamboo, grassland and wetland calculators.

A methodology here is a configuration of :class:`StockChangeMethodology`: which carbon pools each stratum
measures at the start and the end of the monitoring period, and which cited parameters turn a measurement
into carbon. For a stratum ``i`` of area ``A_i`` and a pool measured per hectare as ``M`` (stem volume,
bamboo biomass, soil carbon), the carbon stock per hectare in t CO2e is ``M × Π(parameters) × 44/12``, e.g.
for trees ``V × SVD × BEF × (1 + R) × CF × 44/12``, and the stratum's removals over the period are
``ΔC_i = A_i × (C_end − C_start)``; the project's are ``ΔC_ACTUAL = Σ ΔC_i``. Baseline, leakage and the
uncertainty deduction are then applied by :mod:`offsets.methodologies.accounting`.

Parameters come from ``tree_species.csv`` for the stratum's species (by code, Chinese, English or Latin
name), or from the stratum's ``parameters`` (``{name: {value, unit, source}}``) for measured or
project-specific values, which take precedence. A species absent from the data, or a parameter the data
does not hold for it, must be given that way; the calculator never falls back to an uncited number. Where
the data holds several cited values for one species and parameter, the one citing this methodology is
used; if that does not decide, the report must choose (give it under ``parameters`` with its source).
A row is used as the data file labels it: some are class defaults rather than species values (IPCC 2006
Table 4.4 root-to-shoot ratios by climatic zone and above-ground-biomass class, chosen by their code), and
whether the stratum falls in the class is for the report and the verifier to show — the breakdown carries
the row's label and citation, marked when the value was read in a secondary transcription. Rows of
parameters the formulas do not use (IPCC BCEF, which already includes the wood density) are never used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from offsets.methodologies.accounting import (
    Component,
    fixed_leakage,
    net_removals,
    period_years,
    rule_sources,
    schema_common,
    source_schema,
    uncertainty_description,
    uncertainty_rule,
)
from offsets.methodologies.base import Calculation, MethodologyInputError, Parameter, Term
from offsets.methodologies.exact import EXACT, ZERO, Quotient, exact, ratio
from offsets.methodologies.inputs import JSON_SCHEMA_DIALECT, DecimalField, Reader, check_range
from offsets.methodologies.parameters import (
    ROOT_SHOOT_RATIO,
    DefaultValue,
    MethodologyRules,
    ParameterData,
    ParameterKind,
    packaged,
)

# t CO2 per t C is the ratio of the molar masses of CO2 and C, written 44/12 in the methodologies. It is kept
# as an exact fraction (see exact.py), i.e. Decimal(44) / Decimal(12) without rounding.
MOLAR_MASS_CO2_G_PER_MOL = Decimal(44)
MOLAR_MASS_C_G_PER_MOL = Decimal(12)
CO2_PER_C = ratio(MOLAR_MASS_CO2_G_PER_MOL, int(MOLAR_MASS_C_G_PER_MOL))
MOLAR_MASS_SOURCE = "molar masses of CO2 (44 g/mol) and C (12 g/mol): the 44/12 conversion of t C to t CO2"
MU_PER_HA = 15  # unit conversion: 1 公顷 = 15 亩
MAX_AREA_HA = Decimal(10) ** 7  # plausibility guard (Sichuan is some 4.9 x 10^7 ha)
MAX_STRATA = 1_000
AREA_HA = DecimalField(
    "area_ha",
    "stratum area (give area_ha or area_mu)",
    "ha",
    minimum=Decimal(0),
    exclusive_minimum=True,
    maximum=MAX_AREA_HA,
)
AREA_MU = DecimalField(
    "area_mu",
    "stratum area (give area_ha or area_mu)",
    "mu",
    minimum=Decimal(0),
    exclusive_minimum=True,
    maximum=MAX_AREA_HA * MU_PER_HA,
)
SOIL_DEPTH = DecimalField(
    "soil_depth_cm",
    "depth the soil carbon stocks refer to",
    "cm",
    minimum=Decimal(0),
    exclusive_minimum=True,
    maximum=Decimal(1000),
)


@dataclass(frozen=True, slots=True)
class Pool:
    """A carbon pool measured per hectare at the start and end of the period, and how it becomes carbon."""

    key: str
    label_zh: str
    label_en: str
    symbol: str  # of the measured quantity, e.g. "V"
    measured_label: str
    unit: str  # of the measured quantity, per hectare
    start_field: str
    end_field: str
    maximum: Decimal  # plausibility guard
    kinds: tuple[ParameterKind, ...]  # parameters multiplying the measurement, in the formula's order
    factor_formula: str  # what multiplies the measurement, e.g. "SVD × BEF × (1 + R) × CF × 44/12"

    def measured(self, when: str) -> DecimalField:
        """The measured input at the ``"start"`` or the ``"end"`` of the period."""
        key = {"start": self.start_field, "end": self.end_field}[when]
        description = f"{self.measured_label} at the {when} of the period"
        return DecimalField(key, description, self.unit, minimum=Decimal(0), maximum=self.maximum)

    @property
    def formula(self) -> str:
        """The stock per hectare in t CO2e, e.g. ``V × SVD × BEF × (1 + R) × CF × 44/12``."""
        return f"{self.symbol} × {self.factor_formula}"

    def carbon_per_ha(self, measured: Decimal, parameters: Mapping[str, Decimal]) -> Decimal:
        """t C per hectare (exact): the measurement times the pool's parameters, (1 + R) for a root ratio."""
        carbon = measured
        for kind in self.kinds:
            value = parameters[kind.name]
            factor = EXACT.add(Decimal(1), value) if kind is ROOT_SHOOT_RATIO else value
            carbon = EXACT.multiply(carbon, factor)
        return carbon

    def stock_per_ha(self, measured: Decimal, parameters: Mapping[str, Decimal]) -> Quotient:
        """t CO2e per hectare, exactly: carbon × 44/12."""
        return exact(self.carbon_per_ha(measured, parameters)) * CO2_PER_C


@dataclass(frozen=True, slots=True)
class StockChangeMethodology:
    """A methodology computed by stock change of measured strata (implements ``base.Methodology``)."""

    id: str
    title_zh: str
    title_en: str
    project_types: tuple[str, ...]
    source: str
    pools: tuple[Pool, ...]
    needs_species: bool
    leakage_rules_id: str | None  # whose cited leakage rule applies; None: the report always states leakage
    uncertainty_rules_ids: tuple[str, ...]  # whose cited uncertainty rule applies: the first one found
    with_project_emissions: bool = False
    with_soil_depth: bool = False
    description: str = ""
    parameter_data: Callable[[], ParameterData] = packaged

    def __post_init__(self) -> None:
        assert self.pools, self.id
        assert self.project_types, self.id
        assert self.source, self.id

    def kinds(self) -> tuple[ParameterKind, ...]:
        seen: dict[str, ParameterKind] = {}
        for pool in self.pools:
            for kind in pool.kinds:
                seen.setdefault(kind.name, kind)
        return tuple(seen.values())

    def _rules(self, data: ParameterData, rules_id: str | None) -> MethodologyRules | None:
        return None if rules_id is None else data.rules_for(rules_id)

    def _uncertainty_rules(self, data: ParameterData) -> tuple[MethodologyRules, ...]:
        """Rule tables to look for an uncertainty rule in: the first must exist, fall-backs may be absent."""
        first, *fallbacks = self.uncertainty_rules_ids
        return (data.rules_for(first), *(data.rules[r] for r in fallbacks if r in data.rules))

    def rule_sources(self) -> dict[str, Any]:
        """The cited rules applied for leakage and the uncertainty deduction, and those looked for."""
        data = self.parameter_data()
        return rule_sources(self._rules(data, self.leakage_rules_id), self._uncertainty_rules(data))

    def check_rules(self) -> None:
        """Raise ParameterDataError if the data holds a rule for this methodology that cannot be applied."""
        data = self.parameter_data()
        fixed_leakage(self._rules(data, self.leakage_rules_id))
        uncertainty_rule(self._uncertainty_rules(data))

    # --- calculation ------------------------------------------------------------------------------------

    def calculate(self, inputs: Mapping[str, Any]) -> Calculation:
        data = self.parameter_data()
        reader = Reader(inputs)
        period = period_years(reader)
        strata = reader.sections("strata", max_items=MAX_STRATA)
        labels: set[str] = set()
        components = [self._stratum(index, stratum, data, labels) for index, stratum in enumerate(strata)]
        total = ZERO
        for component in components:
            total = total + component.value
        project = Component(
            Term(
                key="project_stock_change",
                label_zh="项目碳储量变化",
                label_en="project carbon stock change",
                formula="ΔC_ACTUAL = Σ_i ΔC_i",
                value=total.truncated(),
                unit="t CO2e",
                parameters=(),
                terms=tuple(c.term for c in components),
            ),
            total,
        )
        calculation = net_removals(
            self.id,
            period,
            project,
            reader,
            leakage_rules=self._rules(data, self.leakage_rules_id),
            uncertainty_rules=self._uncertainty_rules(data),
            with_project_emissions=self.with_project_emissions,
        )
        reader.finish()
        return calculation

    def _stratum(self, index: int, stratum: Reader, data: ParameterData, labels: set[str]) -> Component:
        label = stratum.text("id", max_chars=100, required=False) or str(index)
        if label in labels:
            raise MethodologyInputError(stratum.field("id"), f"stratum id {label!r} is used twice")
        labels.add(label)
        species = stratum.text("species", max_chars=100) if self.needs_species else ""
        source = stratum.source()
        area, area_parameters, area_formula = _area(stratum, source)
        measured: list[tuple[Pool, Decimal, Decimal]] = []
        for pool in self.pools:
            measured.append((pool, stratum.read(pool.measured("start")), stratum.read(pool.measured("end"))))
        extra: tuple[Parameter, ...] = ()
        if self.with_soil_depth:
            depth = stratum.read(SOIL_DEPTH)
            extra = (Parameter("土壤取样深度 soil sampling depth", "d", depth, "cm", source),)
        parameters = self._parameters(stratum, species, data)
        stratum.finish()

        values = {name: p.value for name, p in parameters.items()}
        per_ha = ZERO
        pool_terms: list[Term] = []
        for pool, start, end in measured:
            stock_start = pool.stock_per_ha(start, values)
            stock_end = pool.stock_per_ha(end, values)
            per_ha = per_ha + (stock_end - stock_start)
            pool_terms.extend(
                (
                    _stock_term(pool, when="start", measured=start, stock=stock_start, source=source),
                    _stock_term(pool, when="end", measured=end, stock=stock_end, source=source),
                )
            )
        change = area * per_ha
        pools = " + ".join(f"({p.symbol}_end − {p.symbol}_start) × {p.factor_formula}" for p in self.pools)
        what = f"{species}, " if species else ""
        term = Term(
            key=f"stratum.{label}",
            label_zh=f"碳层 {label}（{what}碳储量变化）",
            label_en=f"stratum {label} ({what}carbon stock change)",
            formula=f"ΔC_i = A × [{pools}]{area_formula}",
            value=change.truncated(),
            unit="t CO2e",
            parameters=(
                *area_parameters,
                *(parameters[k.name] for k in self.kinds()),
                Parameter(
                    "CO2 摩尔质量 molar mass of CO2",
                    "M_CO2",
                    MOLAR_MASS_CO2_G_PER_MOL,
                    "g/mol",
                    MOLAR_MASS_SOURCE,
                ),
                Parameter(
                    "碳摩尔质量 molar mass of C", "M_C", MOLAR_MASS_C_G_PER_MOL, "g/mol", MOLAR_MASS_SOURCE
                ),
                *extra,
            ),
            terms=tuple(pool_terms),
        )
        return Component(term, change)

    def _parameters(self, stratum: Reader, species: str, data: ParameterData) -> dict[str, Parameter]:
        kinds = self.kinds()
        result: dict[str, Parameter] = {}
        overrides = stratum.section("parameters", required=False)
        if overrides is not None:
            names = {k.name for k in kinds}
            for key in overrides.keys():  # noqa: SIM118 (Reader is not a dict)
                if key not in names:
                    expected = ", ".join(sorted(names)) or "none"
                    raise MethodologyInputError(
                        overrides.field(key), f"is not a parameter of {self.id} (its parameters: {expected})"
                    )
            for kind in kinds:
                item = overrides.section(kind.name, required=False)
                if item is not None:
                    result[kind.name] = _measured_parameter(item, kind)
            overrides.finish()
        missing = [k for k in kinds if k.name not in result]
        if not missing:
            return result
        missing_names = ", ".join(k.name for k in missing)
        codes = data.species_codes(species)
        if not codes:
            raise MethodologyInputError(
                stratum.field("species"),
                f"{species!r} is not in tree_species.csv, so it has no cited defaults; give measured "
                f"{missing_names} under parameters, each as {{value, unit, source}}",
            )
        if len(codes) > 1:
            raise MethodologyInputError(
                stratum.field("species"),
                f"{species!r} names several rows of tree_species.csv ({', '.join(codes)}); use the code",
            )
        for kind in missing:
            result[kind.name] = self._default(kind, codes[0], data, stratum)
        return result

    def _default(self, kind: ParameterKind, code: str, data: ParameterData, stratum: Reader) -> Parameter:
        field = f"{stratum.field('parameters')}.{kind.name}"
        rows = data.defaults(code, kind.name)
        if not rows:
            raise MethodologyInputError(
                field,
                f"tree_species.csv has no cited {kind.name} ({kind.label_zh}) for {code}; "
                "give a measured value as {value, unit, source}",
            )
        if len(rows) > 1:
            citing = tuple(r for r in rows if self.id in r.methodology_or_source)
            if len(citing) != 1:
                listed = "; ".join(f"{r.value} from {r.citation}" for r in rows)
                raise MethodologyInputError(
                    field,
                    f"tree_species.csv holds several cited {kind.name} values for {code} ({listed}); "
                    "give the one to use as {value, unit, source}",
                )
            rows = citing
        row: DefaultValue = rows[0]
        return Parameter(f"{kind.label_zh} {kind.label_en}", kind.symbol, row.value, kind.unit, row.citation)

    # --- description ------------------------------------------------------------------------------------

    def input_description(self) -> dict[str, Any]:
        data = self.parameter_data()
        fixed = fixed_leakage(self._rules(data, self.leakage_rules_id))
        common = schema_common(
            leakage_fixed=fixed,
            with_project_emissions=self.with_project_emissions,
            uncertainty=uncertainty_description(self._uncertainty_rules(data)),
        )
        stratum: dict[str, Any] = {
            "id": {
                "type": "string",
                "maxLength": 100,
                "description": "the stratum's label in the PDD (optional)",
            },
            "area_ha": AREA_HA.schema(),
            "area_mu": AREA_MU.schema(),
            "source": {**source_schema(), "description": "where the stratum's measured values come from"},
        }
        required = ["source"]
        if self.needs_species:
            stratum["species"] = {
                "type": "string",
                "description": "species: a species_code, Chinese, English or Latin name of tree_species.csv, "
                "or any name when all parameters are given under parameters",
            }
            required.append("species")
        for pool in self.pools:
            for when in ("start", "end"):
                field = pool.measured(when)
                stratum[field.key] = field.schema()
                required.append(field.key)
        if self.with_soil_depth:
            stratum[SOIL_DEPTH.key] = SOIL_DEPTH.schema()
            required.append(SOIL_DEPTH.key)
        kinds = self.kinds()
        if kinds:
            stratum["parameters"] = {
                "type": "object",
                "description": "measured or project-specific values, replacing tree_species.csv defaults",
                "additionalProperties": False,
                "properties": {
                    k.name: {
                        "type": "object",
                        "description": f"{k.label_zh} {k.label_en} ({k.symbol})",
                        "required": ["value", "unit", "source"],
                        "additionalProperties": False,
                        "properties": {
                            "value": _parameter_value(k).schema(),
                            "unit": {
                                "type": "string",
                                "minLength": 1,
                                "description": "the unit the value is stated in: one of the examples, in "
                                "any letter case and spacing, with an optional comment in brackets",
                                "examples": list(k.spellings),
                            },
                            "source": source_schema(),
                        },
                    }
                    for k in kinds
                },
            }
        properties = {
            **common["properties"],
            "strata": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_STRATA,
                "items": {
                    "type": "object",
                    "required": required,
                    "oneOf": [{"required": ["area_ha"]}, {"required": ["area_mu"]}],
                    "additionalProperties": False,
                    "properties": stratum,
                },
            },
        }
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "methodology": self.id,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "description": self.description,
            "formula": " ; ".join(f"{p.label_en}: C = {p.formula}" for p in self.pools),
            "type": "object",
            "required": common["required"],
            "additionalProperties": False,
            "properties": properties,
        }


def _area(stratum: Reader, source: str) -> tuple[Quotient, tuple[Parameter, ...], str]:
    has_ha, has_mu = stratum.has("area_ha"), stratum.has("area_mu")
    if has_ha == has_mu:
        raise MethodologyInputError(stratum.field("area_ha"), "give exactly one of area_ha or area_mu")
    if has_ha:
        stratum.raw("area_mu", required=False)
        area_ha = stratum.read(AREA_HA)
        return exact(area_ha), (Parameter("面积 area", "A", area_ha, "ha", source),), ""
    stratum.raw("area_ha", required=False)
    area_mu = stratum.read(AREA_MU)
    return (
        ratio(area_mu, MU_PER_HA),
        (
            Parameter("面积 area", "A_mu", area_mu, "mu", source),
            Parameter(
                "亩每公顷 mu per hectare",
                "15",
                Decimal(MU_PER_HA),
                "mu/ha",
                "unit conversion: 1 公顷 = 15 亩",
            ),
        ),
        ", A = A_mu / 15",
    )


def _parameter_value(kind: ParameterKind) -> DecimalField:
    """A measured parameter's value, in whichever of the kind's units the report states it: its limits
    apply once converted to the kind's unit, so the description states them in words."""
    above = "greater than" if kind.exclusive_minimum else "at least"
    description = (
        f"{kind.label_en}, in the unit given beside it; once converted to {kind.unit} it is {above} "
        f"{kind.minimum} and at most {kind.maximum}"
    )
    return DecimalField("value", description, kind.unit)


def _measured_parameter(item: Reader, kind: ParameterKind) -> Parameter:
    value = item.decimal("value")
    unit = item.text("unit", max_chars=100)
    scale = kind.scale_of(unit)
    if scale is None:
        raise MethodologyInputError(
            item.field("unit"), f"{unit!r} is not a unit of {kind.name}; use one of {kind.accepted_units()}"
        )
    value = EXACT.multiply(value, scale)
    if kind.exclusive_minimum and value <= kind.minimum:
        raise MethodologyInputError(
            item.field("value"), f"{kind.name} must be greater than {kind.minimum}, got {value}"
        )
    check_range(value, item.field("value"), minimum=kind.minimum, maximum=kind.maximum, unit=kind.unit)
    source = item.source()
    item.finish()
    return Parameter(f"{kind.label_zh} {kind.label_en}", kind.symbol, value, kind.unit, source)


def _stock_term(
    pool: Pool,
    *,
    when: str,
    measured: Decimal,
    stock: Quotient,
    source: str,
) -> Term:
    when_zh, when_en = ("期初", "at the start") if when == "start" else ("期末", "at the end")
    symbol = f"{pool.symbol}_{when}"
    return Term(
        key=f"{pool.key}.{when}",
        label_zh=f"{pool.label_zh}{when_zh}碳储量（每公顷）",
        label_en=f"{pool.label_en} carbon stock {when_en} of the period, per hectare",
        formula=pool.formula.replace(pool.symbol, symbol, 1),
        value=stock.truncated(),
        unit="t CO2e/ha",
        parameters=(Parameter(pool.measured_label, symbol, measured, pool.unit, source),),
    )
