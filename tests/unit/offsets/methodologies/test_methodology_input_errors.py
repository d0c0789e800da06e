"""Bad monitoring-report inputs are refused with a MethodologyInputError naming the offending field."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from methodology_support import MEASURED, leakage, tree_inputs, tree_parameters, tree_stratum

from offsets.methodologies import MethodologyInputError, get


def edited(edit: Any) -> dict[str, Any]:
    inputs = tree_inputs()
    edit(inputs)
    return inputs


def stratum_set(key: str, value: Any) -> Any:
    def edit(inputs: dict[str, Any]) -> None:
        inputs["strata"][0][key] = value

    return edit


def stratum_del(key: str) -> Any:
    def edit(inputs: dict[str, Any]) -> None:
        del inputs["strata"][0][key]

    return edit


def parameter_set(name: str, key: str, value: Any) -> Any:
    def edit(inputs: dict[str, Any]) -> None:
        inputs["strata"][0]["parameters"][name][key] = value

    return edit


def top_set(key: str, value: Any) -> Any:
    def edit(inputs: dict[str, Any]) -> None:
        inputs[key] = value

    return edit


CASES = [
    ("missing strata", lambda i: i.pop("strata"), "strata", "required"),
    ("empty strata", top_set("strata", []), "strata", "empty"),
    ("strata not a list", top_set("strata", {"S1": {}}), "strata", "list"),
    (
        "negative end volume",
        stratum_set("volume_end_m3_per_ha", "-1"),
        "strata.0.volume_end_m3_per_ha",
        "negative",
    ),
    ("float volume", stratum_set("volume_end_m3_per_ha", 50.5), "strata.0.volume_end_m3_per_ha", "float"),
    ("boolean volume", stratum_set("volume_end_m3_per_ha", True), "strata.0.volume_end_m3_per_ha", "decimal"),
    (
        "exponent notation",
        stratum_set("volume_end_m3_per_ha", "5e1"),
        "strata.0.volume_end_m3_per_ha",
        "plain",
    ),
    (
        "absurd stock",
        stratum_set("volume_end_m3_per_ha", "2000.1"),
        "strata.0.volume_end_m3_per_ha",
        "implausibly",
    ),
    (
        "too many digits",
        stratum_set("volume_end_m3_per_ha", "1.0000000000001"),
        "strata.0.volume_end_m3_per_ha",
        "plain",
    ),
    (
        "missing start volume",
        stratum_del("volume_start_m3_per_ha"),
        "strata.0.volume_start_m3_per_ha",
        "required",
    ),
    ("absurd area", stratum_set("area_ha", "10000001"), "strata.0.area_ha", "implausibly"),
    ("zero area", stratum_set("area_ha", "0"), "strata.0.area_ha", "greater than 0"),
    ("two areas", stratum_set("area_mu", "15"), "strata.0.area_ha", "exactly one"),
    ("no area", stratum_del("area_ha"), "strata.0.area_ha", "exactly one"),
    ("no measurement source", stratum_del("source"), "strata.0.source", "where the value comes from"),
    (
        "blank measurement source",
        stratum_set("source", "  "),
        "strata.0.source",
        "where the value comes from",
    ),
    ("misspelt field", stratum_set("volume_end_m3_ha", "50"), "strata.0.volume_end_m3_ha", "not an input"),
    (
        "unknown species, no parameters",
        stratum_del("parameters"),
        "strata.0.species",
        "not in tree_species.csv",
    ),
    ("missing species", stratum_del("species"), "strata.0.species", "required"),
    (
        "parameter of another pool",
        stratum_set("parameters", {**tree_parameters(), "bcef_s": {}}),
        "strata.0.parameters.bcef_s",
        "not a parameter",
    ),
    ("wrong unit", parameter_set("bef", "unit", "t/m3"), "strata.0.parameters.bef.unit", "not a unit"),
    # Only a carbon fraction may be stated in percent.
    (
        "density in percent",
        parameter_set("basic_wood_density", "unit", "%"),
        "strata.0.parameters.basic_wood_density.unit",
        "not a unit",
    ),
    ("bef in percent", parameter_set("bef", "unit", "%"), "strata.0.parameters.bef.unit", "not a unit"),
    (
        "carbon fraction as a percentage number",
        parameter_set("carbon_fraction", "value", "47"),
        "strata.0.parameters.carbon_fraction.value",
        "implausibly",
    ),
    ("bef below one", parameter_set("bef", "value", "0.9"), "strata.0.parameters.bef.value", "below 1"),
    (
        "zero wood density",
        parameter_set("basic_wood_density", "value", "0"),
        "strata.0.parameters.basic_wood_density.value",
        "greater than 0",
    ),
    (
        "parameter without source",
        parameter_set("bef", "source", ""),
        "strata.0.parameters.bef.source",
        "where",
    ),
    ("float parameter", parameter_set("bef", "value", 1.5), "strata.0.parameters.bef.value", "float"),
    (
        "negative baseline",
        top_set("baseline", {"removals_t_co2e": "-3", "source": "PDD"}),
        "baseline.removals_t_co2e",
        "negative",
    ),
    ("baseline without source", top_set("baseline", {"removals_t_co2e": "0"}), "baseline.source", "where"),
    ("missing baseline", lambda i: i.pop("baseline"), "baseline", "required"),
    ("missing uncertainty", lambda i: i.pop("uncertainty"), "uncertainty", "required"),
    (
        "uncertainty above 100 %",
        top_set(
            "uncertainty", {"relative_percent": "101", "confidence_level_percent": "90", "source": MEASURED}
        ),
        "uncertainty.relative_percent",
        "implausibly",
    ),
    (
        "confidence the rule is not stated at",
        top_set(
            "uncertainty", {"relative_percent": "5", "confidence_level_percent": "95", "source": MEASURED}
        ),
        "uncertainty.confidence_level_percent",
        "90",
    ),
    ("zero period", top_set("period_years", "0"), "period_years", "greater than 0"),
    ("absurd period", top_set("period_years", "101"), "period_years", "implausibly"),
    ("leakage where the methodology fixes it", top_set("leakage", leakage("1")), "leakage", "LK_t = 0"),
    ("unknown top-level field", top_set("buffer_percent", "10"), "buffer_percent", "not an input"),
]


@pytest.mark.parametrize(("case", "edit", "field", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_input_is_refused_with_its_field(case, edit, field, message):
    with pytest.raises(MethodologyInputError) as error:
        get("AR-CM-001-V01").calculate(edited(edit))
    assert error.value.field == field
    assert message in error.value.message
    assert isinstance(error.value, ValueError)
    assert str(error.value).startswith(field)


def test_the_second_stratum_is_named_in_the_field():
    second = tree_stratum(id="S2", volume_end_m3_per_ha="-2")
    with pytest.raises(MethodologyInputError) as error:
        get("AR-CM-001-V01").calculate(tree_inputs(tree_stratum(), second))
    assert error.value.field == "strata.1.volume_end_m3_per_ha"


def test_a_stratum_id_used_twice_is_refused():
    with pytest.raises(MethodologyInputError) as error:
        get("AR-CM-001-V01").calculate(tree_inputs(tree_stratum(), tree_stratum()))
    assert error.value.field == "strata.1.id"


def test_inputs_that_are_not_an_object_are_refused():
    with pytest.raises(MethodologyInputError) as error:
        get("AR-CM-001-V01").calculate(["strata"])  # type: ignore[arg-type]
    assert error.value.field == "inputs"


def test_decimal_and_integer_inputs_are_accepted_and_the_inputs_are_not_changed():
    inputs = tree_inputs(tree_stratum(area_ha=100, volume_end_m3_per_ha=Decimal("50")))
    before = copy.deepcopy(inputs)
    calculation = get("AR-CM-001-V01").calculate(inputs)
    assert calculation.net_removals_t == Decimal("5156.25")
    assert inputs == before
