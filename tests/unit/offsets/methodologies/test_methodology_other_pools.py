"""Forest management, bamboo, grassland and wetland calculators on hand-worked examples.

All numbers are test fixtures (the sources say so); expected values are worked out here from each formula,
with the division by 12 done as exact integer division.
"""

from __future__ import annotations

from typing import Any

import pytest
from methodology_support import (
    FIXTURE,
    MEASURED,
    accounting,
    bamboo_stratum,
    d,
    kg_from_twelfths,
    leakage,
    product,
    tree_parameters,
    tree_stratum,
    truncate_twelfths,
)

from offsets.methodologies import MethodologyInputError, get


def uncertainty(u: str, cl: str = "90") -> dict[str, str]:
    return {"relative_percent": u, "confidence_level_percent": cl, "source": MEASURED}


# --- forest management (AR-CM-003-V01) ----------------------------------------------------------------------


def test_forest_management_nets_growth_and_a_harvest_against_baseline_and_leakage():
    growing = tree_stratum(
        id="S1",
        area_ha="250",
        volume_start_m3_per_ha="80",
        volume_end_m3_per_ha="95.5",
        parameters=tree_parameters(svd="0.359", bef="1.586", r="0.277", cf="0.5"),
    )
    harvested = tree_stratum(
        id="S2",
        species="柏木",
        area_ha="40",
        volume_start_m3_per_ha="60",
        volume_end_m3_per_ha="42",
        parameters=tree_parameters(svd="0.478", bef="1.732", r="0.22", cf="0.51"),
    )
    inputs = accounting(
        strata=[growing, harvested],
        baseline={"removals_t_co2e": "1200", "source": "PDD §B.6.1 基线情景 (fixture)"},
        leakage=leakage("35.5"),
        uncertainty=uncertainty("18"),
    )
    calculation = get("AR-CM-003-V01").calculate(inputs)

    s1 = product(d(250), d("15.5"), d("0.359"), d("1.586"), d("1.277"), d("0.5"), d(44))
    s2 = product(d(40), d(-18), d("0.478"), d("1.732"), d("1.22"), d("0.51"), d(44))
    project = s1 + s2  # × 12
    deduction = product(d("0.5"), d("0.18"), project)  # 15 % < U <= 20 %: 50 % of U, on the project's change
    net = project - 12 * d(1200) - 12 * d("35.5") - deduction
    assert calculation.net_removals_t == truncate_twelfths(net, 6)
    assert calculation.net_removals_kg() == kg_from_twelfths(net)
    terms = {t.key: t for t in calculation.walk()}
    assert terms["stratum.S2"].value < 0
    assert terms["uncertainty_deduction"].value == truncate_twelfths(deduction, 6)


# --- bamboo (AR-CM-002-V01, AR-CM-005-V01) ------------------------------------------------------------------


def test_bamboo_afforestation_is_measured_biomass_times_one_plus_r_times_cf():
    inputs = accounting(strata=[bamboo_stratum()], leakage=leakage("0"))
    calculation = get("AR-CM-002-V01").calculate(inputs)
    # 300 mu = 20 ha; 20 × (25 − 5) × 1.3 × 0.50 × 44/12 = 953.333… t
    net = product(d(20), d(20), d("1.3"), d("0.5"), d(44))
    assert net == d(11440)
    assert calculation.net_removals_t == d("953.333333")
    assert calculation.net_removals_kg() == kg_from_twelfths(net) == 953333
    cf = next(p for p in calculation.parameters() if p.symbol == "CF")
    assert (cf.value, cf.unit) == (d("0.50"), "t C/t d.m.")  # 50 % converted to a fraction
    formula = next(t for t in calculation.walk() if t.key == "stratum.B1").formula
    assert "(1 + R) × CF × 44/12" in formula


def test_bamboo_management_deducts_its_baseline():
    inputs = accounting(
        strata=[bamboo_stratum(area_mu=None, area_ha="10")],
        baseline={"removals_t_co2e": "100", "source": "PDD baseline (fixture)"},
        leakage=leakage("2"),
    )
    calculation = get("AR-CM-005-V01").calculate(inputs)
    net = product(d(10), d(20), d("1.3"), d("0.5"), d(44)) - 12 * d(102)
    assert calculation.net_removals_t == truncate_twelfths(net, 6)


def test_bamboo_without_cited_defaults_needs_measured_r_and_cf():
    stratum = bamboo_stratum(parameters=None)
    with pytest.raises(MethodologyInputError) as error:
        get("AR-CM-002-V01").calculate(accounting(strata=[stratum], leakage=leakage()))
    assert error.value.field == "strata.0.species"


def test_bamboo_does_not_take_tree_parameters():
    stratum = bamboo_stratum()
    stratum["parameters"]["bef"] = {"value": "1.2", "unit": "dimensionless", "source": FIXTURE}
    with pytest.raises(MethodologyInputError) as error:
        get("AR-CM-002-V01").calculate(accounting(strata=[stratum], leakage=leakage()))
    assert error.value.field == "strata.0.parameters.bef"


# --- grassland ----------------------------------------------------------------------------------------------


def grassland_inputs(**overrides: Any) -> dict[str, Any]:
    stratum = {
        "id": "G1",
        "area_ha": "1000",
        "soil_carbon_start_t_c_per_ha": "45.2",
        "soil_carbon_end_t_c_per_ha": "46",
        "soil_depth_cm": "30",
        "source": "项目实测土壤样品 2023 (fixture)",
    }
    return accounting(strata=[stratum], leakage=leakage("10"), uncertainty=uncertainty("25"), **overrides)


def test_grassland_credits_the_measured_soil_carbon_change():
    calculation = get("TANHUI-GRASSLAND-SOC-V01").calculate(grassland_inputs())
    net = product(d(1000), d("0.8"), d(44)) - 12 * d(10)  # U = 25 % but no rule was found: nothing deducted
    assert calculation.net_removals_t == truncate_twelfths(net, 6)
    assert calculation.net_removals_kg() == 2923333
    deduction = next(t for t in calculation.terms if t.key == "uncertainty_deduction")
    assert deduction.value == 0
    assert "no uncertainty-deduction rule of AR-CM-004-V01, VM0026 was found" in deduction.formula
    assert {p.symbol for p in deduction.parameters} == {"U", "CL"}
    depth = next(p for p in calculation.parameters() if p.symbol == "d")
    assert (depth.value, depth.unit) == (d(30), "cm")


def test_grassland_needs_the_soil_depth_and_refuses_a_species():
    inputs = grassland_inputs()
    del inputs["strata"][0]["soil_depth_cm"]
    with pytest.raises(MethodologyInputError) as error:
        get("TANHUI-GRASSLAND-SOC-V01").calculate(inputs)
    assert error.value.field == "strata.0.soil_depth_cm"
    inputs = grassland_inputs()
    inputs["strata"][0]["species"] = "披碱草"
    with pytest.raises(MethodologyInputError) as error:
        get("TANHUI-GRASSLAND-SOC-V01").calculate(inputs)
    assert error.value.field == "strata.0.species"


# --- wetland ------------------------------------------------------------------------------------------------


def wetland_inputs(u: str = "25", cl: str = "90", **stratum_overrides: str) -> dict[str, Any]:
    stratum = {
        "id": "W1",
        "area_ha": "50",
        "soil_carbon_start_t_c_per_ha": "120",
        "soil_carbon_end_t_c_per_ha": "123",
        "biomass_carbon_start_t_c_per_ha": "5",
        "biomass_carbon_end_t_c_per_ha": "6",
        "soil_depth_cm": "100",
        "source": "若尔盖项目实测 2023 (fixture)",
        **stratum_overrides,
    }
    return accounting(
        strata=[stratum],
        project_emissions={"non_co2_t_co2e": "100", "source": "项目 CH4 通量观测, GWP per PDD (fixture)"},
        baseline={"removals_t_co2e": "20", "source": "PDD baseline (fixture)"},
        leakage=leakage("0", "PDD §8.4 hydrology criteria met (fixture)"),
        uncertainty=uncertainty(u, cl),
    )


def test_wetland_applies_the_vm0033_allowable_uncertainty():
    calculation = get("TANHUI-WETLAND-STOCK-V01").calculate(wetland_inputs())
    # NER = 50 × (3 + 1) × 44/12 − 100 − 20 − 0; U = 25 % > 20 % at 90 %: adjusted = NER × (1 − 0.05)
    ner = product(d(50), d(4), d(44)) - 12 * d(100) - 12 * d(20)
    net = product(ner, d("0.95"))
    assert calculation.net_removals_t == truncate_twelfths(net, 6)
    assert calculation.net_removals_kg() == kg_from_twelfths(net) == 582666
    deduction = next(t for t in calculation.terms if t.key == "uncertainty_deduction")
    allowable = next(p for p in deduction.parameters if p.symbol == "allowable")
    assert allowable.value == 20
    assert "VM0033" in allowable.source
    assert [t.key for t in calculation.terms][:2] == ["project_stock_change", "project_emissions"]
    emissions = calculation.terms[1]
    assert (emissions.value, emissions.unit) == (100, "t CO2e")
    [stated] = emissions.parameters
    assert (stated.symbol, stated.value, stated.unit) == ("E_P", 100, "t CO2e")
    assert stated.source == "项目 CH4 通量观测, GWP per PDD (fixture)"


def test_wetland_within_the_allowable_uncertainty_has_no_deduction():
    at_95 = get("TANHUI-WETLAND-STOCK-V01").calculate(wetland_inputs(u="29.99", cl="95"))
    assert at_95.net_removals_t == truncate_twelfths(product(d(50), d(4), d(44)) - 12 * d(120), 6)


def test_wetland_refuses_a_confidence_level_the_rule_does_not_state():
    with pytest.raises(MethodologyInputError) as error:
        get("TANHUI-WETLAND-STOCK-V01").calculate(wetland_inputs(cl="80"))
    assert error.value.field == "uncertainty.confidence_level_percent"


def test_wetland_requires_its_methane_and_nitrous_oxide():
    inputs = wetland_inputs()
    del inputs["project_emissions"]
    with pytest.raises(MethodologyInputError) as error:
        get("TANHUI-WETLAND-STOCK-V01").calculate(inputs)
    assert error.value.field == "project_emissions"


def test_a_wetland_losing_carbon_is_not_softened_by_the_uncertainty_rule():
    calculation = get("TANHUI-WETLAND-STOCK-V01").calculate(
        wetland_inputs(u="50", soil_carbon_end_t_c_per_ha="118")
    )
    net = product(d(50), d(-1), d(44)) - 12 * d(120)  # (−2 + 1) t C/ha; no deduction on a loss
    assert calculation.net_removals_t == truncate_twelfths(net, 6)
    assert calculation.net_removals_kg() == kg_from_twelfths(net) == -303333
