"""Grassland (草地碳汇): soil organic carbon stock change measured by the project.

Basis: CCER AR-CM-004-V01 可持续草地管理温室气体减排计量与监测方法学 and VCS VM0026 Methodology for
Sustainable Grassland Management. Neither text could be read (methodology_rules.toml and SOURCES.md list
them as not found), so this is not an implementation of either: it is the registry's own measured
stock-change method (id ``TANHUI-GRASSLAND-SOC-V01``, so that nobody mistakes it for AR-CM-004), which
credits only what the project measured. Per stratum, ``ΔC_i = A × (SOC_end − SOC_start) × 44/12`` with the
soil organic carbon stocks in t C/ha to a stated depth, measured by the project and stated with their source
(``pools.SOIL_ORGANIC_CARBON``). Grass biomass is not credited (it turns over within a year or two).

Inputs: ``period_years``; ``strata`` (``area_ha`` or ``area_mu``, ``soil_carbon_start_t_c_per_ha``,
``soil_carbon_end_t_c_per_ha``, ``soil_depth_cm``, ``source``); ``baseline``; ``leakage``; ``uncertainty``.

Leakage (e.g. grazing displaced to land outside the project) and the uncertainty rule of AR-CM-004-V01 were
not found: leakage is stated by the report with its source; the relative uncertainty is required and
recorded, with no deduction and no threshold, since none could be cited. A rule later added to
methodology_rules.toml under AR-CM-004-V01 is applied as described in ``accounting``.
"""

from __future__ import annotations

from offsets.methodologies.pools import SOIL_ORGANIC_CARBON
from offsets.methodologies.stock_change import StockChangeMethodology

GRASSLAND_SOC_V01 = StockChangeMethodology(
    id="TANHUI-GRASSLAND-SOC-V01",
    title_zh="草地土壤有机碳储量变化（实测法）",
    title_en="Grassland soil organic carbon stock change, measured",
    project_types=("grassland",),
    source=(
        "Registry method based on CCER AR-CM-004-V01 可持续草地管理温室气体减排计量与监测方法学 "
        "and VCS VM0026 Methodology for Sustainable Grassland Management "
        "(texts not read: see methodology_rules.toml); "
        "credits the soil organic carbon stock change measured by the project"
    ),
    pools=(SOIL_ORGANIC_CARBON,),
    needs_species=False,
    leakage_rules_id="AR-CM-004-V01",
    uncertainty_rules_ids=("AR-CM-004-V01", "VM0026"),
    with_soil_depth=True,
    description="Measured soil organic carbon stock change per stratum; leakage stated by the report; "
    "uncertainty rule not found (stated uncertainty recorded, no deduction).",
)
