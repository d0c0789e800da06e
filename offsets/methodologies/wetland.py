"""Wetland (湿地碳汇): soil and vegetation carbon stock change measured by the project, less its CH4 and N2O.

Basis: VCS VM0033 v2.1 Methodology for Tidal Wetland and Seagrass Restoration (Verra, 2023), the only wetland
methodology that could be read (methodology_rules.toml). VM0033 applies to tidal wetlands, and Sichuan's
wetlands (若尔盖 peatlands, lakes, rivers) are inland, so this is the registry's own method
(``TANHUI-WETLAND-STOCK-V01``) following VM0033's accounting structure, not VM0033 itself:

* net removals ``= ΔC_ACTUAL − E_P − ΔC_BSL − LK − UNC`` (VM0033 §8.5.1 Eq. 85, written as removals), where
  per stratum ``ΔC_i = A × [(SOC_end − SOC_start) + (BC_end − BC_start)] × 44/12`` with the soil organic
  carbon (to a stated depth) and vegetation biomass carbon stocks in t C/ha measured by the project, and
  ``E_P`` the project's CH4 and N2O emissions over the period in t CO2e, stated with their source. Wetlands
  emit methane; VM0033 requires the project's non-CO2 emissions to be counted (§2, §8.2.4), so they are a
  required input (zero only with a stated source).
* uncertainty: VM0033 §8.5.2 Eq. 92 as read into methodology_rules.toml — allowable uncertainty 20 % at
  90 % or 30 % at 95 % confidence; above it, ``adjusted_NER = NER × (100 % − NER_ERROR + allowable)``. This is
  the one precision requirement that can be cited for this method; the report's confidence level must be
  one of those the rule states.
* leakage: VM0033 lets a project assume zero only when its (tidal) applicability conditions and the
  hydrological criteria of §8.4 are met, which this code cannot check, so the report states leakage with its
  source (zero where the PDD shows those criteria are met).
* a baseline of net emissions (a drained peatland) is not credited as avoided emissions here: baseline
  removals are stated and must not be negative (see ``accounting``).

Inputs: ``period_years``; ``strata`` (``area_ha`` or ``area_mu``, ``soil_carbon_start_t_c_per_ha``,
``soil_carbon_end_t_c_per_ha``, ``biomass_carbon_start_t_c_per_ha``, ``biomass_carbon_end_t_c_per_ha``,
``soil_depth_cm``, ``source``); ``project_emissions``; ``baseline``; ``leakage``; ``uncertainty``.
"""

from __future__ import annotations

from offsets.methodologies.pools import SOIL_ORGANIC_CARBON, VEGETATION_BIOMASS_CARBON
from offsets.methodologies.stock_change import StockChangeMethodology

WETLAND_STOCK_V01 = StockChangeMethodology(
    id="TANHUI-WETLAND-STOCK-V01",
    title_zh="湿地土壤与植被碳储量变化（实测法）",
    title_en="Wetland soil and vegetation carbon stock change, measured",
    project_types=("wetland",),
    source=(
        "Registry method following the accounting of VCS VM0033 v2.1 Methodology for Tidal Wetland and "
        "Seagrass Restoration (Verra, 2023), §8.5.1 Eq. 85 and §8.5.2 Eq. 92, read in "
        "github.com/hashgraph/guardian docs/VM0033-methodology-pdf-parsed/VM0033-Methodology.md @b7ad711; "
        "VM0033 itself covers tidal wetlands only"
    ),
    pools=(SOIL_ORGANIC_CARBON, VEGETATION_BIOMASS_CARBON),
    needs_species=False,
    leakage_rules_id=None,
    uncertainty_rules_ids=("VM0033",),
    with_project_emissions=True,
    with_soil_depth=True,
    description="Measured soil and vegetation carbon stock change less project CH4/N2O; VM0033 Eq. 92 "
    "uncertainty deduction; leakage stated by the report.",
)
