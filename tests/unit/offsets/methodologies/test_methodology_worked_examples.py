"""Published worked examples (offsets/data/parameters/worked_examples.toml) reproduced within their rounding.

Runs over whatever examples the file lists, by kind:

* ``stock_change_formula``: the inputs go through AR-CM-001-V01 as one measured stratum of 1 ha (the formula
  ``V × SVD × BEF × (1 + R) × CF × 44/12`` is that of every tree calculator); each published output is
  matched within half a unit of its last printed digit. Where the source prints both carbon and CO2, its
  CO2 may have been converted from its rounded carbon, so the carbon's rounding, times 44/12, is allowed
  too (the file's own ``check`` note says either order of rounding must be accepted).
* ``uncertainty_discount``: the deduction the calculators apply (AR-TOOL14 discount table, or the
  allowable-excess rule), as a fraction of the estimate, against the published one.

Kinds the calculators do not implement (computing U from plot statistics) are skipped with the reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from methodology_support import MEASURED, accounting, leakage, tree_stratum

from offsets.methodologies import get
from offsets.methodologies.parameters import WorkedExample, packaged
from offsets.methodologies.pools import TREE_BIOMASS

EXAMPLES = packaged().examples
CO2_KEYS = ("co2e_t", "co2_t", "co2_t_per_ha", "co2e_t_per_ha")
CARBON_KEYS = ("carbon_t", "carbon_t_per_ha")


def half_unit(printed: str) -> Decimal:
    """Half a unit in the last printed place: '304' -> 0.5, '2.25' -> 0.005."""
    places = len(printed.split(".")[1]) if "." in printed else 0
    return Decimal(5) / Decimal(10) ** (places + 1)


def first(mapping: Any, keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in mapping), None)


def check_stock_change(example: WorkedExample) -> None:
    inputs = example.inputs
    volume = inputs.get("stem_volume_m3_per_ha", inputs.get("volume_m3"))
    assert volume is not None, f"{example.id}: no volume input"
    r = (
        inputs["root_shoot_ratio"]
        if "root_shoot_ratio" in inputs
        else inputs["one_plus_root_shoot_ratio"] - 1
    )
    source = f"{example.citation} ({example.url})"

    def given(value: Decimal) -> dict[str, str]:
        return {"value": format(value, "f"), "unit": "dimensionless", "source": source}

    parameters = {
        "basic_wood_density": {**given(inputs["basic_wood_density"]), "unit": "t/m3"},
        "bef": given(inputs["bef"]),
        "root_shoot_ratio": given(r),
        "carbon_fraction": {**given(inputs["carbon_fraction"]), "unit": "t C/t d.m."},
    }
    stratum = tree_stratum(
        species=example.species_zh or example.id,
        area_ha="1",
        volume_end_m3_per_ha=format(volume, "f"),
        parameters=parameters,
    )
    methodology = example.methodology or "AR-CM-001-V01"
    inputs_given = accounting(
        strata=[stratum],
        uncertainty={"relative_percent": "0", "confidence_level_percent": "90", "source": MEASURED},
    )
    if "leakage" in get(methodology).input_description()["properties"]:
        inputs_given["leakage"] = leakage()
    co2 = get(methodology).calculate(inputs_given).net_removals_t
    carbon = TREE_BIOMASS.carbon_per_ha(volume, {k: Decimal(v["value"]) for k, v in parameters.items()})
    checked = 0
    carbon_key = first(example.published_outputs, CARBON_KEYS)
    if carbon_key is not None:
        published = example.published_outputs[carbon_key]
        assert abs(carbon - published) <= half_unit(example.printed_outputs[carbon_key]), (carbon, published)
        checked += 1
    co2_key = first(example.published_outputs, CO2_KEYS)
    if co2_key is not None:
        published = example.published_outputs[co2_key]
        tolerance = half_unit(example.printed_outputs[co2_key])
        # Either order of rounding: the exact CO2 rounded, or the source's rounded carbon converted.
        candidates = [co2]
        if carbon_key is not None:
            carbon_printed = example.published_outputs[carbon_key]
            candidates.append(carbon_printed * 44 / 12)
        assert any(abs(c - published) <= tolerance for c in candidates), (candidates, published)
        checked += 1
    if not checked:
        pytest.skip(
            f"{example.id}: none of its published outputs ({', '.join(example.published_outputs)}) is one "
            f"the calculators produce ({', '.join(CARBON_KEYS + CO2_KEYS)})"
        )


def check_discount(example: WorkedExample) -> None:
    inputs, outputs = example.inputs, example.published_outputs
    if "ci90_half_width_t_dm_per_ha" in inputs:  # AR-TOOL14 Appendix 2, through a tree calculator
        mean = inputs["mean_t_dm_per_ha"]
        u = inputs["ci90_half_width_t_dm_per_ha"] / mean * 100
        conservative = outputs["project_conservative_mean"]
        methodology = "AR-CM-001-V01"
        extra: dict[str, Any] = {}
    elif "allowable_error_pct" in inputs:  # allowable excess, through the wetland calculator (VM0033 form)
        mean = inputs["mean_stem_volume_m3_per_ha"]
        u = inputs["error_pct"]
        conservative = outputs["accountable_stem_volume_m3_per_ha"]
        methodology = "TANHUI-WETLAND-STOCK-V01"
        extra = {}
    else:
        pytest.skip(f"{example.id}: an uncertainty discount of a form the tests do not know")
    if "uncertainty_pct" in outputs:
        assert abs(u - outputs["uncertainty_pct"]) <= half_unit(example.printed_outputs["uncertainty_pct"])
    uncertainty = {
        "relative_percent": format(u.normalize(), "f"),
        "confidence_level_percent": "90",
        "source": MEASURED,
    }
    if methodology == "AR-CM-001-V01":
        strata = [tree_stratum(area_ha="1")]  # 51.5625 t CO2e of project stock change
    else:
        strata = [
            {
                "area_ha": "3",
                "soil_carbon_start_t_c_per_ha": "0",
                "soil_carbon_end_t_c_per_ha": "1",
                "biomass_carbon_start_t_c_per_ha": "0",
                "biomass_carbon_end_t_c_per_ha": "0",
                "soil_depth_cm": "30",
                "source": MEASURED,
            }
        ]  # 11 t CO2e
        extra = {"project_emissions": {"non_co2_t_co2e": "0", "source": MEASURED}, "leakage": leakage()}
    calculation = get(methodology).calculate(accounting(strata=strata, uncertainty=uncertainty, **extra))
    terms = {t.key: t for t in calculation.terms}
    gross = terms["project_stock_change"].value
    kept = calculation.net_removals_t / gross
    published_kept = conservative / mean
    # The calculation keeps gram precision (6 places) on a gross of some tens of tonnes.
    assert abs(kept - published_kept) <= Decimal("0.000001"), (kept, published_kept)
    if "allowable_error_pct" in inputs:
        allowable = next(p for p in terms["uncertainty_deduction"].parameters if p.symbol == "allowable")
        assert allowable.value == inputs["allowable_error_pct"]


CHECKS = {"stock_change_formula": check_stock_change, "uncertainty_discount": check_discount}


@pytest.mark.parametrize("example", EXAMPLES or [None], ids=[e.id for e in EXAMPLES] or ["none"])
def test_a_published_worked_example_is_reproduced_within_its_rounding(example):
    if example is None:
        pytest.skip(
            "worked_examples.toml lists no published example yet "
            f"(status {packaged().examples_status!r}); nothing to reproduce"
        )
    check = CHECKS.get(example.kind)
    if check is None:
        pytest.skip(
            f"{example.id}: kind {example.kind!r} is not something the calculators compute "
            "(they take the relative uncertainty as stated in the monitoring report)"
        )
    check(example)
