"""Afforestation calculators (AR-CM-001-V01, CCER-14-001-V01) on hand-worked examples.

Expected values are worked out here from the formula ``A × (V_end − V_start) × SVD × BEF × (1 + R) × CF
× 44/12`` with explicit numbers (test fixtures, not cited parameters); the one division, by 12, is exact
integer division, so the expected kilograms are the exact value truncated towards zero.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from methodology_support import (
    FIXTURE,
    MEASURED,
    d,
    fixture_data,
    kg_from_twelfths,
    leakage,
    product,
    tree_inputs,
    tree_parameters,
    tree_stratum,
    truncate_twelfths,
    with_data,
)

from offsets.methodologies import MethodologyInputError, ParameterDataError, get
from offsets.methodologies.afforestation import AR_CM_001_V01, CCER_14_001_V01
from offsets.methodologies.parameters import packaged


def two_strata() -> list[dict[str, object]]:
    return [
        tree_stratum(
            id="S1",
            area_ha="120.5",
            volume_start_m3_per_ha="12.4",
            volume_end_m3_per_ha="58.7",
            parameters=tree_parameters(svd="0.307", bef="1.634", r="0.246", cf="0.52"),
        ),
        tree_stratum(
            id="S2",
            species="马尾松",
            area_ha=None,
            area_mu="450",
            volume_start_m3_per_ha="3",
            volume_end_m3_per_ha="31.25",
            parameters=tree_parameters(svd="0.38", bef="1.472", r="0.187", cf="0.46"),
        ),
    ]


def expected_project_times_12() -> Decimal:
    """12 × ΔC_ACTUAL (t CO2e) for two_strata(), by hand."""
    s1 = product(d("120.5"), d("58.7") - d("12.4"), d("0.307"), d("1.634"), d("1.246"), d("0.52"), d(44))
    # 450 mu is 30 ha (1 ha = 15 mu).
    s2 = product(d("30"), d("31.25") - d("3"), d("0.38"), d("1.472"), d("1.187"), d("0.46"), d(44))
    return s1 + s2


def test_ar_cm_001_net_removals_are_the_stock_change_less_the_baseline():
    inputs = tree_inputs(*two_strata(), baseline={"removals_t_co2e": "15.5", "source": "PDD §B.6 (fixture)"})
    calculation = get("AR-CM-001-V01").calculate(inputs)

    net_times_12 = expected_project_times_12() - 12 * d("15.5")  # LK = 0; U = 8 % is within the 10 % band
    assert calculation.net_removals_t == truncate_twelfths(net_times_12, 6)
    assert calculation.net_removals_kg() == kg_from_twelfths(net_times_12)
    assert calculation.methodology == "AR-CM-001-V01"
    assert calculation.period_years == 5


def test_the_stratum_values_in_the_breakdown_are_the_hand_worked_ones():
    calculation = get("AR-CM-001-V01").calculate(tree_inputs(*two_strata()))
    terms = {t.key: t for t in calculation.walk()}
    s1 = product(d("120.5"), d("46.3"), d("0.307"), d("1.634"), d("1.246"), d("0.52"), d(44))
    assert terms["stratum.S1"].value == truncate_twelfths(s1, 6)
    per_ha_end = product(d("58.7"), d("0.307"), d("1.634"), d("1.246"), d("0.52"), d(44))
    assert terms["stratum.S1"].terms[1].key == "tree_biomass.end"
    assert terms["stratum.S1"].terms[1].value == truncate_twelfths(per_ha_end, 6)
    assert terms["project_stock_change"].value == truncate_twelfths(expected_project_times_12(), 6)


def test_an_area_in_mu_is_the_same_as_the_area_in_hectares():
    in_mu = get("AR-CM-001-V01").calculate(tree_inputs(tree_stratum(area_ha=None, area_mu="1500")))
    in_ha = get("AR-CM-001-V01").calculate(tree_inputs(tree_stratum(area_ha="100")))
    assert (
        in_mu.net_removals_t == in_ha.net_removals_t == d("5156.25")
    )  # 100 × 50 × .3 × 1.5 × 1.25 × .5 × 44/12


def test_the_ar_tool14_discount_is_applied_to_the_project_stock_change_when_u_exceeds_ten_percent():
    inputs = tree_inputs(
        uncertainty={"relative_percent": "12", "confidence_level_percent": "90", "source": MEASURED}
    )
    calculation = get("AR-CM-001-V01").calculate(inputs)
    project = d("5156.25")
    deduction = product(d("0.25"), d("0.12"), project)  # 10 % < U <= 15 %: d(U) = 25 % of U
    assert deduction == d("154.6875")
    assert calculation.net_removals_t == project - deduction
    term = next(t for t in calculation.terms if t.key == "uncertainty_deduction")
    assert term.value == deduction
    assert "CDM-AR-TOOL14" in term.formula
    assert "AR-CM-001-V01 itself was not found" in term.formula
    discount = next(p for p in term.parameters if p.symbol == "d(U)")
    assert discount.value == 25
    assert "Appendix 2" in discount.source


@pytest.mark.parametrize(
    ("u", "discount"),
    [("10", "0"), ("10.01", "25"), ("15", "25"), ("20", "50"), ("30", "75"), ("30.5", "100"), ("100", "100")],
)
def test_the_discount_band_follows_the_cited_table(u, discount):
    inputs = tree_inputs(
        uncertainty={"relative_percent": u, "confidence_level_percent": "90", "source": MEASURED}
    )
    calculation = get("AR-CM-001-V01").calculate(inputs)
    expected = d("5156.25") - product(d(discount) / 100, d(u) / 100, d("5156.25"))
    assert calculation.net_removals_t == expected.quantize(d("0.000001"), rounding="ROUND_DOWN")


def test_ar_cm_001_leakage_is_zero_by_the_methodology_and_cited():
    calculation = get("AR-CM-001-V01").calculate(tree_inputs())
    term = next(t for t in calculation.terms if t.key == "leakage")
    assert term.value == 0
    (parameter,) = term.parameters
    assert parameter.symbol == "LK_t"
    assert "AR-CM-001-V01" in parameter.source
    assert "sanwenwang.com" in parameter.source


def test_ar_cm_001_refuses_a_stated_leakage():
    with pytest.raises(MethodologyInputError) as error:
        get("AR-CM-001-V01").calculate(tree_inputs(leakage=leakage("3")))
    assert error.value.field == "leakage"


def test_ccer_14_001_requires_the_leakage_and_deducts_it():
    with pytest.raises(MethodologyInputError) as error:
        get("CCER-14-001-V01").calculate(tree_inputs())
    assert error.value.field == "leakage"
    calculation = get("CCER-14-001-V01").calculate(tree_inputs(leakage=leakage("6.25")))
    assert calculation.net_removals_t == d("5156.25") - d("6.25")
    term = next(t for t in calculation.terms if t.key == "leakage")
    assert term.parameters[0].source == "PDD §B.6.3 泄漏 (test fixture)"


def test_removals_round_down_to_whole_kilograms_never_up():
    # 1 ha × 0.001 m3 × 1 × 1 × (1 + 0) × 0.5 × 44/12 = 0.0018333… t = 1.8333… kg: issued as 1 kg, not 2.
    stratum = tree_stratum(
        area_ha="1",
        volume_end_m3_per_ha="0.001",
        parameters=tree_parameters(svd="1", bef="1", r="0", cf="0.5"),
    )
    calculation = get("AR-CM-001-V01").calculate(tree_inputs(stratum))
    assert calculation.net_removals_t == d("0.001833")
    assert calculation.net_removals_kg() == 1


def test_a_loss_rounds_towards_zero_and_is_not_overstated():
    stratum = tree_stratum(
        area_ha="1",
        volume_start_m3_per_ha="0.001",
        volume_end_m3_per_ha="0",
        parameters=tree_parameters(svd="1", bef="1", r="0", cf="0.5"),
    )
    uncertainty = {"relative_percent": "40", "confidence_level_percent": "90", "source": MEASURED}
    calculation = get("AR-CM-001-V01").calculate(tree_inputs(stratum, uncertainty=uncertainty))
    assert calculation.net_removals_t == d("-0.001833")
    assert calculation.net_removals_kg() == -1
    deduction = next(t for t in calculation.terms if t.key == "uncertainty_deduction")
    assert deduction.value == 0  # a deduction never makes a loss smaller


def test_every_parameter_in_the_breakdown_has_a_source_and_the_breakdown_is_json():
    calculation = get("AR-CM-001-V01").calculate(tree_inputs(*two_strata()))
    parameters = calculation.parameters()
    assert parameters
    assert all(p.source.strip() for p in parameters)
    stratum = next(t for t in calculation.walk() if t.key == "stratum.S2")
    symbols = [p.symbol for p in stratum.parameters]
    assert symbols[:2] == ["A_mu", "15"]
    assert {"SVD", "BEF", "R", "CF", "M_CO2", "M_C"} <= set(symbols)
    assert all(p.source == FIXTURE for p in stratum.parameters if p.symbol in {"SVD", "BEF", "R", "CF"})
    assert next(p for p in stratum.parameters if p.symbol == "A_mu").source == MEASURED
    assert [t.key for t in calculation.terms] == [
        "project_stock_change",
        "baseline_removals",
        "leakage",
        "uncertainty_deduction",
        "net_removals",
    ]
    document = calculation.as_dict()
    assert json.loads(json.dumps(document)) == document
    assert document["net_removals_kg"] == calculation.net_removals_kg()
    assert isinstance(document["net_removals_t"], str)
    assert document["terms"][0]["terms"][0]["parameters"][1]["value"] == "0.307"


def test_defaults_for_a_species_come_from_the_data_with_their_citation(tmp_path):
    methodology = with_data(AR_CM_001_V01, fixture_data(tmp_path))
    stratum = tree_stratum(species="测试杉", parameters=None)
    calculation = methodology.calculate(tree_inputs(stratum))
    # 100 ha × 50 m3/ha × 0.4 × 1.3 × 1.2 × 0.5 × 44/12
    assert calculation.net_removals_t == truncate_twelfths(
        product(d(100), d(50), d("0.4"), d("1.3"), d("1.2"), d("0.5"), d(44)), 6
    )
    stratum_term = next(t for t in calculation.walk() if t.key == "stratum.S1")
    sources = {p.symbol: p.source for p in stratum_term.parameters}
    units = {p.symbol: p.unit for p in stratum_term.parameters}
    names = {p.symbol: p.name for p in stratum_term.parameters}
    assert (names["SVD"], names["R"]) == ("基本木材密度 basic wood density", "根茎比 root-to-shoot ratio")
    assert (units["SVD"], units["BEF"], units["CF"]) == ("t d.m./m3", "dimensionless", "t C/t d.m.")
    assert FIXTURE in sources["SVD"]
    assert "tree_species.csv row test_fir/basic_wood_density" in sources["SVD"]
    assert "(2024)" in sources["CF"]


def test_a_measured_parameter_replaces_the_default_and_carries_its_own_source(tmp_path):
    methodology = with_data(AR_CM_001_V01, fixture_data(tmp_path))
    measured_bef = {"bef": {"value": "1.45", "unit": "t AGB / t stem", "source": "项目实测 BEF 2023"}}
    calculation = methodology.calculate(
        tree_inputs(tree_stratum(species="test_fir", parameters=measured_bef))
    )
    stratum_term = next(t for t in calculation.walk() if t.key == "stratum.S1")
    bef = next(p for p in stratum_term.parameters if p.symbol == "BEF")
    assert (bef.value, bef.source) == (d("1.45"), "项目实测 BEF 2023")
    svd = next(p for p in stratum_term.parameters if p.symbol == "SVD")
    assert FIXTURE in svd.source


def test_a_species_with_some_defaults_needs_the_rest_measured(tmp_path):
    methodology = with_data(AR_CM_001_V01, fixture_data(tmp_path))
    with pytest.raises(MethodologyInputError) as error:
        methodology.calculate(tree_inputs(tree_stratum(species="只有密度", parameters=None)))
    assert error.value.field == "strata.0.parameters.bef"
    given = tree_parameters()
    del given["basic_wood_density"]
    calculation = methodology.calculate(tree_inputs(tree_stratum(species="只有密度", parameters=given)))
    svd = next(p for p in calculation.parameters() if p.symbol == "SVD")
    assert svd.value == d("0.45")


def test_the_default_citing_the_methodology_wins_and_otherwise_the_report_must_choose(tmp_path):
    rows = [
        {
            "species_code": "twice",
            "species_zh": "两个来源",
            "parameter": "basic_wood_density",
            "value": "0.41",
            "unit": "t/m3",
            "methodology_or_source": "AR-CM-001-V01 appendix (fixture)",
        },
        {
            "species_code": "twice",
            "species_zh": "两个来源",
            "parameter": "basic_wood_density",
            "value": "0.39",
            "unit": "t/m3",
            "methodology_or_source": "another inventory (fixture)",
        },
    ]
    data = fixture_data(tmp_path, rows)
    given = tree_parameters()
    del given["basic_wood_density"]
    inputs = tree_inputs(tree_stratum(species="twice", parameters=given))
    calculation = with_data(AR_CM_001_V01, data).calculate(inputs)
    assert next(p for p in calculation.parameters() if p.symbol == "SVD").value == d("0.41")
    with pytest.raises(MethodologyInputError) as error:
        with_data(CCER_14_001_V01, data).calculate({**inputs, "leakage": leakage()})
    assert error.value.field == "strata.0.parameters.basic_wood_density"


def test_a_packaged_default_is_used_with_its_packaged_citation():
    data = packaged()
    rows = [r for r in data.tree_defaults if r.parameter == "basic_wood_density"]
    if not rows:
        pytest.skip("tree_species.csv holds no basic_wood_density row yet")
    row = rows[0]
    given = tree_parameters()
    del given["basic_wood_density"]
    calculation = get("AR-CM-001-V01").calculate(
        tree_inputs(tree_stratum(species=row.species_code, parameters=given))
    )
    svd = next(p for p in calculation.parameters() if p.symbol == "SVD")
    assert svd.value == row.value
    assert row.methodology_or_source in svd.source
    assert str(row.source_year) in svd.source


def test_an_unreadable_uncertainty_rule_stops_the_calculation(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[methodologies."AR-CM-001-V01"]\nname_zh = "x"\n'
        '[methodologies."AR-CM-001-V01".uncertainty]\nfound = true\nsource = "s"\nsection = "§"\n'
        'rule = "some new form"\n',
        encoding="utf-8",
    )
    from offsets.methodologies.parameters import load

    methodology = with_data(AR_CM_001_V01, load(methodology_rules=rules))
    with pytest.raises(ParameterDataError, match="form the calculators do not apply"):
        methodology.calculate(tree_inputs(leakage=leakage()))
