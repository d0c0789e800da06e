"""Each methodology's published input description against what its calculator accepts.

``GET /api/v1/methodologies/<id>`` publishes the inputs as a JSON Schema (draft 2020-12), for the
project owners and verifiers who prepare a monitoring report's calculation. These tests hold the two
together, for every registered methodology, starting from one complete report each:

* the description is a valid JSON Schema, and the report meets it and is calculated;
* every decimal input is non-negative and has a plausibility maximum, stated in the description;
* a value beyond a described limit is refused by the calculator, naming that field, and by the schema;
* a field the description requires is required by the calculator, and a field it does not list is
  refused by both;
* the one alternative the description offers (a stratum's area in 亩 instead of hectares) is accepted by
  both and gives the same result, and every unit it gives as an example for a stated parameter is one the
  calculator accepts.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from methodology_support import MEASURED, accounting, bamboo_stratum, leakage, tree_inputs, tree_stratum

from offsets.methodologies import METHODOLOGIES, get
from offsets.methodologies.base import MethodologyInputError

Path = tuple[str | int, ...]
STEP = Decimal("0.000001")


def bamboo_inputs() -> dict[str, Any]:
    return accounting(strata=[bamboo_stratum(area_mu=None, area_ha="20")], leakage=leakage())


def soil_stratum(**extra: str) -> dict[str, str]:
    return {
        "id": "G1",
        "area_ha": "1000",
        "soil_carbon_start_t_c_per_ha": "45.2",
        "soil_carbon_end_t_c_per_ha": "46",
        "soil_depth_cm": "30",
        "source": MEASURED,
        **extra,
    }


REPORTS: dict[str, dict[str, Any]] = {
    "AR-CM-001-V01": tree_inputs(),
    "CCER-14-001-V01": tree_inputs(leakage=leakage()),
    "AR-CM-003-V01": tree_inputs(leakage=leakage()),
    "AR-CM-002-V01": bamboo_inputs(),
    "AR-CM-005-V01": bamboo_inputs(),
    "TANHUI-GRASSLAND-SOC-V01": accounting(strata=[soil_stratum()], leakage=leakage("10")),
    "TANHUI-WETLAND-STOCK-V01": accounting(
        strata=[soil_stratum(biomass_carbon_start_t_c_per_ha="5", biomass_carbon_end_t_c_per_ha="6")],
        project_emissions={"non_co2_t_co2e": "100", "source": MEASURED},
        leakage=leakage(),
    ),
}
IDS = sorted(METHODOLOGIES)


def test_every_methodology_has_a_complete_report_here():
    assert set(REPORTS) == set(METHODOLOGIES)
    assert tree_stratum()["parameters"], "the tree report states its own parameters too"


def described(methodology_id: str) -> tuple[dict[str, Any], Draft202012Validator]:
    description = get(methodology_id).input_description()
    return description, Draft202012Validator(description)


def walk(schema: dict[str, Any], value: Any, path: Path = ()) -> Iterator[tuple[Path, dict[str, Any], Any]]:
    """Every (path, schema, value) of the report, following the schema into objects and arrays."""
    yield path, schema, value
    if isinstance(value, dict):
        for key, child in value.items():
            if key in schema.get("properties", {}):
                yield from walk(schema["properties"][key], child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(schema["items"], child, (*path, index))


def dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)


def edited(report: dict[str, Any], path: Path, value: Any = None, *, delete: bool = False) -> dict[str, Any]:
    changed = copy.deepcopy(report)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


def refused_field(methodology_id: str, report: dict[str, Any]) -> str | None:
    """The field the calculator names in refusing the report, or None if it accepts it."""
    try:
        get(methodology_id).calculate(report)
    except MethodologyInputError as error:
        return error.field
    return None


def decimal_inputs(methodology_id: str) -> list[tuple[Path, dict[str, Any]]]:
    description, _ = described(methodology_id)
    return [
        (path, schema)
        for path, schema, _ in walk(description, REPORTS[methodology_id])
        if schema.get("format") == "decimal"
    ]


def is_parameter_value(path: Path) -> bool:
    """A stated parameter's value, whose limits apply after its unit is converted (said in words)."""
    return len(path) >= 2 and path[-1] == "value" and "parameters" in path


@pytest.mark.parametrize("methodology_id", IDS)
def test_the_description_is_a_json_schema_that_the_report_meets(methodology_id):
    description, validator = described(methodology_id)
    Draft202012Validator.check_schema(description)
    assert description["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(validator.iter_errors(REPORTS[methodology_id])) == []
    assert get(methodology_id).calculate(REPORTS[methodology_id]).net_removals_kg() != 0


@pytest.mark.parametrize("methodology_id", IDS)
def test_every_decimal_input_is_described_non_negative_and_bounded_above(methodology_id):
    inputs = [
        (path, schema) for path, schema in decimal_inputs(methodology_id) if not is_parameter_value(path)
    ]
    assert len(inputs) >= 6
    for path, schema in inputs:
        lower = schema.get("minimum", schema.get("exclusiveMinimum"))
        assert lower is not None, dotted(path)
        assert lower >= 0, dotted(path)
        assert "maximum" in schema, dotted(path)
        assert schema["unit"], dotted(path)


@pytest.mark.parametrize("methodology_id", IDS)
def test_a_value_beyond_a_described_limit_is_refused_naming_its_field(methodology_id):
    report = REPORTS[methodology_id]
    _, validator = described(methodology_id)
    probes = 0
    for path, schema in decimal_inputs(methodology_id):
        beyond = []
        if "minimum" in schema:
            beyond.append(Decimal(schema["minimum"]) - STEP)
        if "exclusiveMinimum" in schema:
            beyond.append(Decimal(schema["exclusiveMinimum"]))
        if "maximum" in schema:
            beyond.append(Decimal(str(schema["maximum"])) + STEP)
        for value in beyond:
            probes += 1
            assert refused_field(methodology_id, edited(report, path, format(value, "f"))) == dotted(path)
            # The schema checks limits on JSON numbers: the nearest integer beyond the limit.
            whole = int(value.to_integral_value(rounding="ROUND_FLOOR" if value < 0 else "ROUND_CEILING"))
            assert not validator.is_valid(edited(report, path, whole)), (dotted(path), whole)
    assert probes >= 12


@pytest.mark.parametrize("methodology_id", IDS)
def test_what_the_description_requires_the_calculator_requires(methodology_id):
    description, _ = described(methodology_id)
    report = REPORTS[methodology_id]
    checked = 0
    for path, schema, value in walk(description, report):
        for key in schema.get("required", []):
            checked += 1
            assert key in value, (dotted(path), key)
            assert refused_field(methodology_id, edited(report, (*path, key), delete=True)) == dotted(
                (*path, key)
            )
    assert checked >= 10


@pytest.mark.parametrize("methodology_id", IDS)
def test_a_field_the_description_does_not_list_is_refused_by_both(methodology_id):
    description, validator = described(methodology_id)
    report = REPORTS[methodology_id]
    objects = [path for path, schema, value in walk(description, report) if isinstance(value, dict)]
    assert len(objects) >= 4
    for path in objects:
        changed = edited(report, (*path, "remarks"), "a field no methodology reads")
        assert refused_field(methodology_id, changed) == dotted((*path, "remarks"))
        assert not validator.is_valid(changed), dotted(path)


@pytest.mark.parametrize("methodology_id", IDS)
def test_an_area_in_mu_is_the_described_alternative_to_hectares(methodology_id):
    _, validator = described(methodology_id)
    report = REPORTS[methodology_id]
    hectares = Decimal(report["strata"][0]["area_ha"])
    in_mu = edited(
        edited(report, ("strata", 0, "area_ha"), delete=True), ("strata", 0, "area_mu"), str(hectares * 15)
    )
    assert validator.is_valid(in_mu)
    assert (
        get(methodology_id).calculate(in_mu).net_removals_t
        == get(methodology_id).calculate(report).net_removals_t
    )
    both = edited(report, ("strata", 0, "area_mu"), "15")
    assert not validator.is_valid(both)
    assert refused_field(methodology_id, both) == "strata.0.area_ha"


@pytest.mark.parametrize("methodology_id", IDS)
def test_every_unit_the_description_gives_for_a_parameter_is_accepted(methodology_id):
    description, validator = described(methodology_id)
    report = REPORTS[methodology_id]
    units = [(path, schema) for path, schema, _ in walk(description, report) if path[-1:] == ("unit",)]
    assert units or "parameters" not in report["strata"][0]
    for path, schema in units:
        for spelling in schema["examples"]:
            changed = edited(report, path, spelling)
            assert validator.is_valid(changed)
            # A percent is 100 times the fraction, so the value may then be out of range, but not the unit.
            assert refused_field(methodology_id, changed) in (None, dotted((*path[:-1], "value"))), spelling


@pytest.mark.parametrize("methodology_id", IDS)
def test_the_uncertainty_input_names_the_rule_the_calculation_applies(methodology_id):
    description, _ = described(methodology_id)
    said = description["properties"]["uncertainty"]["description"]
    calculation = get(methodology_id).calculate(REPORTS[methodology_id])
    deduction = next(term for term in calculation.terms if term.key == "uncertainty_deduction")
    stated = {p.symbol: p for p in deduction.parameters}
    rule = [p for symbol, p in stated.items() if symbol not in ("U", "CL")]
    if not rule:
        assert deduction.value == 0
        assert "no uncertainty rule was found" in said
        return
    [parameter] = rule
    assert parameter.source.split()[0] in said
    if parameter.symbol == "allowable":
        assert f"{parameter.value} % at {stated['CL'].value} %" in said


# --- the cited rules published with the methodology -----------------------------------------------------


@pytest.mark.parametrize("methodology_id", IDS)
def test_the_published_leakage_rule_is_the_one_the_calculation_applies(methodology_id):
    published = get(methodology_id).rule_sources()["leakage"]
    report = REPORTS[methodology_id]
    calculation = get(methodology_id).calculate(report)
    term = next(term for term in calculation.terms if term.key == "leakage")
    if published["applied"] == "fixed":
        # Fixed by the cited rule: the report may not state it, and the term is the published value.
        assert "leakage" not in report
        assert refused_field(methodology_id, report | {"leakage": leakage()}) == "leakage"
        assert str(term.value) == published["value_t_co2e"] == "0"
        [consulted] = published["consulted"]
        assert consulted["found"]
        assert consulted["rules_of"] == published["rule_of"]
        assert consulted["citation"]
        assert consulted["citation"] in " ".join(p.source for p in term.parameters)
    else:
        assert published["applied"] == "stated_in_report"
        assert (published["rule_of"], published["value_t_co2e"]) == (None, None)
        assert refused_field(methodology_id, edited(report, ("leakage",), delete=True)) == "leakage"
        assert all(not consulted["found"] for consulted in published["consulted"])


@pytest.mark.parametrize("methodology_id", IDS)
def test_the_published_uncertainty_rule_is_the_first_found_and_the_one_the_calculation_applies(
    methodology_id,
):
    published = get(methodology_id).rule_sources()["uncertainty"]
    calculation = get(methodology_id).calculate(REPORTS[methodology_id])
    deduction = next(term for term in calculation.terms if term.key == "uncertainty_deduction")
    consulted = published["consulted"]
    assert consulted, "every methodology looks for an uncertainty rule somewhere"
    found = [entry["rules_of"] for entry in consulted if entry["found"]]
    assert published["rule_of"] == (found[0] if found else None)
    for entry in consulted:
        assert bool(entry["citation"]) == entry["found"]
        assert entry["name"]
    if published["rule_of"] is None:
        assert published["applied"] == "none"
        assert deduction.value == 0
        assert "UNC = 0" in deduction.formula
        # What was looked at, and why nothing was found, is said of the rule or of the whole text.
        assert all(entry["note"] or entry["methodology_note"] for entry in consulted)
    else:
        assert published["applied"] in ("discount_table", "allowable_excess")
        assert f", {published['rule_of']})." in deduction.formula
        form = "d(U)" if published["applied"] == "discount_table" else "allowable"
        assert form in deduction.formula
