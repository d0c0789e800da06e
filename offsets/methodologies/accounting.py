"""The accounting every methodology shares: baseline, leakage, uncertainty deduction, and the net removals.

``net = ΔC_project − E_project − ΔC_baseline − LK − UNC``, in t CO2e for the monitoring period, where

* ``ΔC_baseline`` is the baseline's net removals over the period, stated in the monitoring report with the
  document it comes from (the PDD's baseline section). It may be zero where the PDD says so, but it is
  always stated: none of the rules read (``methodology_rules.toml``) lets a calculator assume it. A
  negative baseline (baseline emissions) is refused: crediting avoided baseline emissions is not something
  any methodology read here was seen to allow, and it would raise the credits issued.
* ``LK`` is fixed by the methodology where ``methodology_rules.toml`` holds a cited leakage rule with a value
  (AR-CM-001-V01: LK_t = 0); otherwise the monitoring report states it with its source. Where the rule fixes
  it, a stated leakage is refused rather than silently ignored.
* ``UNC`` is the uncertainty deduction, by the first rule found among the rule tables a methodology names
  (its own id first, then the precision requirement it falls back on), as read into
  ``methodology_rules.toml``. Two forms are applied:

  - allowable excess (VCS VM0033 v2.1 §8.5.2 Eq. 92): allowable uncertainty 20 % at 90 % or 30 % at 95 %
    confidence; above it ``adjusted_NER = NER × (100 % − U + allowable)``, so ``UNC = NER × (U − allowable)``.
    It applies to the net removals before the deduction (NER), as Eq. 92 does;
  - discount table (CDM AR-TOOL14 v04.2 Appendix 2): ``X_cons = X − d(U) × U × X`` with d(U) = 0, 25, 50,
    75, 100 % for U ≤ 10, ≤ 15, ≤ 20, ≤ 30, > 30 % at 90 % confidence. It applies to the project's carbon
    stock change, whose uncertainty u_ΔC the tool defines (paras 18 and 22); the baseline is taken as
    the PDD states it.

  The stated confidence level must be one the rule is stated at. Where no rule is found, no percentage
  table is invented: the report must still state its relative uncertainty, confidence level and source;
  they are recorded in the breakdown for the verifier, no deduction is made, and no report is refused for
  its uncertainty, because no cited threshold exists. A deduction applies to a positive quantity only:
  deducting from a loss would make the loss smaller. A found rule of any other form stops the calculation
  with :class:`ParameterDataError` rather than being ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from offsets.methodologies.base import Calculation, MethodologyInputError, Parameter, Term, decimal_text
from offsets.methodologies.exact import EXACT, ZERO, Quotient, exact
from offsets.methodologies.inputs import DecimalField, Reader
from offsets.methodologies.parameters import (
    AllowableExcessRule,
    MethodologyRules,
    ParameterDataError,
    RuleSection,
    UncertaintyRule,
)

MAX_PERIOD_YEARS = Decimal(100)  # plausibility guard
MAX_T_CO2E = Decimal(10) ** 10  # plausibility guard: about three times Sichuan's whole forest carbon stock
PERCENT = Decimal(100)  # unit conversion


@dataclass(frozen=True, slots=True)
class Component:
    """A term of the breakdown together with its exact value (t CO2e)."""

    term: Term
    value: Quotient


PERIOD_YEARS = DecimalField(
    "period_years",
    "length of the monitoring period",
    "a",
    minimum=Decimal(0),
    exclusive_minimum=True,
    maximum=MAX_PERIOD_YEARS,
)
BASELINE_REMOVALS = DecimalField(
    "removals_t_co2e",
    "baseline net removals over the period (may be 0 where the PDD says so, with that reference)",
    "t CO2e",
    minimum=Decimal(0),
    maximum=MAX_T_CO2E,
)
LEAKAGE_EMISSIONS = DecimalField(
    "emissions_t_co2e", "leakage emissions over the period", "t CO2e", minimum=Decimal(0), maximum=MAX_T_CO2E
)
PROJECT_NON_CO2 = DecimalField(
    "non_co2_t_co2e",
    "project non-CO2 emissions (CH4, N2O) over the period, in t CO2e, the GWP stated in the source",
    "t CO2e",
    minimum=Decimal(0),
    maximum=MAX_T_CO2E,
)
RELATIVE_UNCERTAINTY = DecimalField(
    "relative_percent", "relative uncertainty", "%", minimum=Decimal(0), maximum=PERCENT
)
CONFIDENCE_LEVEL = DecimalField(
    "confidence_level_percent",
    "confidence level",
    "%",
    minimum=Decimal(0),
    exclusive_minimum=True,
    maximum=Decimal("99.99"),
)


def period_years(reader: Reader) -> Decimal:
    return reader.read(PERIOD_YEARS)


def baseline(reader: Reader) -> Component:
    section = reader.required_section("baseline")
    removals = section.read(BASELINE_REMOVALS)
    source = section.source()
    section.finish()
    return Component(
        Term(
            key="baseline_removals",
            label_zh="基线碳汇量",
            label_en="baseline net removals",
            formula="ΔC_BSL (stated in the monitoring report, from the PDD's baseline)",
            value=removals,
            unit="t CO2e",
            parameters=(Parameter("baseline net removals", "ΔC_BSL", removals, "t CO2e", source),),
        ),
        exact(removals),
    )


@dataclass(frozen=True, slots=True)
class FixedLeakage:
    value_t_co2e: Decimal
    symbol: str
    citation: str


def fixed_leakage(rules: MethodologyRules | None) -> FixedLeakage | None:
    """The leakage a cited rule fixes, or None where the report must state it.

    Raises :class:`ParameterDataError` for a found rule this code cannot apply (anything but a value of 0),
    so that new research in the data file is noticed rather than ignored.
    """
    if rules is None or not rules.leakage.found:
        return None
    fields = rules.leakage.fields
    value = fields.get("value")
    if not isinstance(value, str) or value.strip().rstrip("%") not in {"0", "0.0", "0.00"}:
        raise ParameterDataError(
            f"methodology_rules.toml: the leakage rule of {rules.id} ({value!r}) is not a fixed zero, "
            "which is the only form the calculators apply; teach offsets/methodologies/accounting.py"
        )
    symbol = fields.get("symbol")
    return FixedLeakage(
        Decimal(0), symbol if isinstance(symbol, str) and symbol else "LK", rules.leakage.citation
    )


def leakage(reader: Reader, rules: MethodologyRules | None) -> Component:
    fixed = fixed_leakage(rules)
    if fixed is not None:
        assert rules is not None
        reader.refuse(
            "leakage",
            f"{rules.id} fixes leakage at {fixed.symbol} = {fixed.value_t_co2e} ({fixed.citation}); "
            "it is not an input",
        )
        rule_text = rules.leakage.fields.get("rule", "")
        return Component(
            Term(
                key="leakage",
                label_zh="泄漏",
                label_en="leakage",
                formula=f"{fixed.symbol} = {fixed.value_t_co2e} (methodology rule)"
                + (f": {rule_text}" if isinstance(rule_text, str) and rule_text else ""),
                value=fixed.value_t_co2e,
                unit="t CO2e",
                parameters=(
                    Parameter("leakage", fixed.symbol, fixed.value_t_co2e, "t CO2e", fixed.citation),
                ),
            ),
            exact(fixed.value_t_co2e),
        )
    section = reader.required_section("leakage")
    emissions = section.read(LEAKAGE_EMISSIONS)
    source = section.source()
    section.finish()
    return Component(
        Term(
            key="leakage",
            label_zh="泄漏",
            label_en="leakage",
            formula="LK (stated in the monitoring report: the methodology's leakage rule was not found)",
            value=emissions,
            unit="t CO2e",
            parameters=(Parameter("leakage emissions", "LK", emissions, "t CO2e", source),),
        ),
        exact(emissions),
    )


def project_emissions(reader: Reader) -> Component:
    """Non-CO2 emissions of the project scenario over the period (CH4, N2O as t CO2e), stated with source."""
    section = reader.required_section("project_emissions")
    emissions = section.read(PROJECT_NON_CO2)
    source = section.source()
    section.finish()
    return Component(
        Term(
            key="project_emissions",
            label_zh="项目情景温室气体排放（非CO2）",
            label_en="project non-CO2 emissions",
            formula="E_P (CH4 and N2O in t CO2e, stated in the monitoring report with the GWP used)",
            value=emissions,
            unit="t CO2e",
            parameters=(Parameter("project non-CO2 emissions", "E_P", emissions, "t CO2e", source),),
        ),
        exact(emissions),
    )


def uncertainty_rule(rules: tuple[MethodologyRules, ...]) -> tuple[MethodologyRules, UncertaintyRule] | None:
    """The first found uncertainty rule among ``rules`` (in order), or None where none was found.

    Raises :class:`ParameterDataError` for a found rule of a form the calculators do not know.
    """
    for candidate in rules:
        section = candidate.uncertainty
        if not section.found:
            continue
        if section.uncertainty_rule is None:
            raise ParameterDataError(
                f"methodology_rules.toml: the uncertainty rule of {candidate.id} has keys "
                f"{sorted(section.fields)}, "
                "a form the calculators do not apply (allowable excess or discount table); "
                "teach offsets/methodologies/accounting.py the new form"
            )
        return candidate, section.uncertainty_rule
    return None


def uncertainty_deduction(
    reader: Reader,
    rules: tuple[MethodologyRules, ...],
    *,
    methodology_id: str,
    project: Quotient,
    net_before: Quotient,
) -> Component:
    found = uncertainty_rule(rules)
    section = reader.required_section("uncertainty")
    relative = section.read(RELATIVE_UNCERTAINTY)
    confidence = section.read(CONFIDENCE_LEVEL)
    source = section.source()
    stated = (
        Parameter("relative uncertainty", "U", relative, "%", source),
        Parameter("confidence level of U", "CL", confidence, "%", source),
    )
    looked_up = ", ".join(r.id for r in rules) or methodology_id
    if found is None:
        section.finish()
        return Component(
            Term(
                key="uncertainty_deduction",
                label_zh="不确定性扣减",
                label_en="uncertainty deduction",
                formula=(
                    f"UNC = 0: no uncertainty-deduction rule of {looked_up} was found in a cited source "
                    "(methodology_rules.toml, found = false); no percentage is invented. "
                    "U and its confidence level are recorded for the verifier / "
                    "未找到方法学规定的不确定性扣减规则，不扣减，仅记录"
                ),
                value=Decimal(0),
                unit="t CO2e",
                parameters=stated,
            ),
            ZERO,
        )
    rules_of, rule = found
    citation = f"{rules_of.id} {rules_of.name}: {rules_of.uncertainty.citation}"
    borrowed = (
        ""
        if rules_of.id == methodology_id
        else f" The rule of {methodology_id} itself was not found; this is the precision requirement "
        f"that can be cited ({rules_of.id}), applied as the registry's conservative choice."
    )
    if isinstance(rule, AllowableExcessRule):
        allowable = rule.allowable_percent_by_confidence.get(confidence)
        if allowable is None:
            _wrong_confidence(section, tuple(rule.allowable_percent_by_confidence), confidence)
        assert allowable is not None
        section.finish()
        excess = EXACT.subtract(relative, allowable) if relative > allowable else Decimal(0)
        deduction = net_before * EXACT.divide(excess, PERCENT) if net_before.is_positive() else ZERO
        return Component(
            Term(
                key="uncertainty_deduction",
                label_zh="不确定性扣减",
                label_en="uncertainty deduction",
                formula=(
                    "UNC = NER × max(0, U − allowable) for NER > 0, else 0, where NER = the net before this "
                    f"deduction (adjusted_NER = NER × (100% − U + allowable), {rules_of.id})." + borrowed
                ),
                value=deduction.truncated(),
                unit="t CO2e",
                parameters=(
                    *stated,
                    Parameter("allowable uncertainty at CL", "allowable", allowable, "%", citation),
                ),
            ),
            deduction,
        )
    if confidence != rule.confidence_percent:
        _wrong_confidence(section, (rule.confidence_percent,), confidence)
    section.finish()
    discount = rule.discount_percent_of_u(relative)
    fraction = EXACT.multiply(EXACT.divide(discount, PERCENT), EXACT.divide(relative, PERCENT))
    deduction = project * fraction if project.is_positive() else ZERO
    return Component(
        Term(
            key="uncertainty_deduction",
            label_zh="不确定性扣减",
            label_en="uncertainty deduction",
            formula=(
                "UNC = d(U) × U × ΔC_ACTUAL for ΔC_ACTUAL > 0, else 0, with U the relative uncertainty "
                f"of the project's carbon stock change (X_cons = X − d(U) × U × X, {rules_of.id})." + borrowed
            ),
            value=deduction.truncated(),
            unit="t CO2e",
            parameters=(
                *stated,
                Parameter("discount, % of U, for U's band", "d(U)", discount, "%", citation),
            ),
        ),
        deduction,
    )


def _wrong_confidence(section: Reader, levels: tuple[Decimal, ...], confidence: Decimal) -> None:
    listed = ", ".join(str(level) for level in levels)
    raise MethodologyInputError(
        section.field("confidence_level_percent"),
        f"the uncertainty rule applied is stated at a confidence level of {listed} %; got {confidence} %",
    )


def net_removals(
    methodology_id: str,
    period: Decimal,
    project: Component,
    reader: Reader,
    *,
    leakage_rules: MethodologyRules | None,
    uncertainty_rules: tuple[MethodologyRules, ...],
    with_project_emissions: bool = False,
) -> Calculation:
    """Baseline, leakage, project emissions and uncertainty read from ``reader``; the net; the breakdown."""
    emissions = project_emissions(reader) if with_project_emissions else None
    base = baseline(reader)
    leak = leakage(reader, leakage_rules)
    before = project.value - base.value - leak.value
    if emissions is not None:
        before = before - emissions.value
    deduction = uncertainty_deduction(
        reader, uncertainty_rules, methodology_id=methodology_id, project=project.value, net_before=before
    )
    net = before - deduction.value
    assert not net.is_positive() or net <= before, "the uncertainty deduction raised the net"
    parts = [project, *([emissions] if emissions is not None else []), base, leak, deduction]
    symbols = "ΔC_ACTUAL" + (" − E_P" if emissions is not None else "") + " − ΔC_BSL − LK − UNC"
    net_t = net.truncated()
    total = Term(
        key="net_removals",
        label_zh="项目减排量（净碳汇量）",
        label_en="net removals of the period",
        formula=f"{symbols}, truncated towards zero to 0.000001 t",
        value=net_t,
        unit="t CO2e",
        parameters=(),
    )
    return Calculation(
        methodology=methodology_id,
        period_years=period,
        net_removals_t=net_t,
        terms=(*(p.term for p in parts), total),
    )


def uncertainty_description(rules: tuple[MethodologyRules, ...]) -> str:
    """What the ``uncertainty`` input means and which rule it feeds, for the input description."""
    found = uncertainty_rule(rules)
    if found is None:
        return (
            "relative uncertainty (half-width of the confidence interval / estimate) of the net removals as "
            "stated in the monitoring report; no uncertainty rule was found in a cited source, so it is "
            "recorded for the verifier and nothing is deducted"
        )
    rules_of, rule = found
    if isinstance(rule, AllowableExcessRule):
        levels = ", ".join(f"{a} % at {c} %" for c, a in rule.allowable_percent_by_confidence.items())
        return (
            "relative uncertainty of the net removals (half-width of the confidence interval / estimate); "
            f"{rules_of.id}: allowable {levels} confidence, the excess is deducted"
        )
    return (
        "relative uncertainty u_ΔC of the project's carbon stock change (half-width of the "
        f"{rule.confidence_percent} % confidence interval / estimate); {rules_of.id} discount table applied"
    )


def rule_sources(
    leakage_rules: MethodologyRules | None, uncertainty_rules: tuple[MethodologyRules, ...]
) -> dict[str, Any]:
    """Which cited rules a calculation applies for leakage and the uncertainty deduction, and every rule
    table consulted for them, found or not, with what the research noted (JSON-safe, published with the
    methodology so that a reader sees where a figure comes from and where a rule was looked for in vain).
    """
    fixed = fixed_leakage(leakage_rules)
    found = uncertainty_rule(uncertainty_rules)
    if found is None:
        uncertainty: dict[str, Any] = {"applied": "none", "rule_of": None}
    else:
        rules_of, rule = found
        form = "allowable_excess" if isinstance(rule, AllowableExcessRule) else "discount_table"
        uncertainty = {"applied": form, "rule_of": rules_of.id}
    return {
        "leakage": {
            "applied": "fixed" if fixed is not None else "stated_in_report",
            "rule_of": leakage_rules.id if fixed is not None and leakage_rules is not None else None,
            "value_t_co2e": None if fixed is None else decimal_text(fixed.value_t_co2e),
            "consulted": [] if leakage_rules is None else [_consulted(leakage_rules, leakage_rules.leakage)],
        },
        "uncertainty": {
            **uncertainty,
            "consulted": [_consulted(rules, rules.uncertainty) for rules in uncertainty_rules],
        },
    }


def _consulted(rules: MethodologyRules, section: RuleSection) -> dict[str, Any]:
    note = section.fields.get("note", "")
    return {
        "rules_of": rules.id,
        "name": rules.name,
        "found": section.found,
        "citation": section.citation,
        "note": note if isinstance(note, str) else "",
        "methodology_note": rules.note,
    }


def schema_common(
    *, leakage_fixed: FixedLeakage | None, with_project_emissions: bool, uncertainty: str
) -> dict[str, Any]:
    """Input description of the accounting sections (JSON-safe)."""
    properties: dict[str, Any] = {
        "period_years": PERIOD_YEARS.schema(),
        "baseline": sourced_schema(BASELINE_REMOVALS),
        "uncertainty": {
            "type": "object",
            "description": uncertainty,
            "required": ["relative_percent", "confidence_level_percent", "source"],
            "additionalProperties": False,
            "properties": {
                "relative_percent": RELATIVE_UNCERTAINTY.schema(),
                "confidence_level_percent": CONFIDENCE_LEVEL.schema(),
                "source": source_schema(),
            },
        },
    }
    required = ["period_years", "strata", "baseline", "uncertainty"]
    if leakage_fixed is None:
        properties["leakage"] = sourced_schema(LEAKAGE_EMISSIONS)
        required.append("leakage")
    if with_project_emissions:
        properties["project_emissions"] = sourced_schema(PROJECT_NON_CO2)
        required.append("project_emissions")
    return {"properties": properties, "required": required}


def source_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "description": 'where the value comes from, e.g. "项目实测样地 2023" or a PDD section',
    }


def sourced_schema(field: DecimalField) -> dict[str, Any]:
    """A section of one stated value and the document it comes from."""
    return {
        "type": "object",
        "description": field.description,
        "required": [field.key, "source"],
        "additionalProperties": False,
        "properties": {field.key: field.schema(), "source": source_schema()},
    }
