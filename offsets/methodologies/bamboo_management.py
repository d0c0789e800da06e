"""Bamboo forest management (竹林经营碳汇): CCER AR-CM-005-V01, by bamboo biomass stock change.

The bamboo computation of ``bamboo_afforestation`` (``A × B × (1 + R) × CF × 44/12`` per stratum at the start
and the end of the period, ``B`` the measured above-ground biomass in t d.m./ha with its source) applied to
managed existing bamboo forest, against the baseline the report states. Culms harvested in the period are
not credited: only the standing stock change counts, which is the conservative reading in the absence of
the methodology's harvested-bamboo rules (not found).

Inputs: ``period_years``; ``strata`` (``species``, ``area_ha`` or ``area_mu``, ``biomass_start_t_dm_per_ha``,
``biomass_end_t_dm_per_ha``, ``source``, optional ``parameters``); ``baseline``; ``leakage``; ``uncertainty``.

Leakage and uncertainty rules of AR-CM-005-V01 were not found (methodology_rules.toml): leakage is stated by
the report with its source. The calculator applies instead the precision requirement that can be cited: CDM
AR-TOOL14 v04.2 Appendix 2 (``CDM-AR-TOOL14`` in methodology_rules.toml, read in two agreeing secondary
transcriptions): the project's carbon stock change is reduced by ``d(U) × U × ΔC_ACTUAL``, with d(U) = 0, 25,
50, 75, 100 % for a relative uncertainty U (90 % confidence) of at most 10, 15, 20, 30 and above 30 %. The
CCER A/R methodologies derive from the CDM ones and AR-CM-002-V01 lists AR-TOOL14 among the tools it uses, but
whether the CCER texts prescribe this discount is NOT established; the breakdown says so, and the discount can
only lower the credits. No other percentage is used. Once the CCER rule is added to methodology_rules.toml
under the methodology's own id, it takes precedence (a form the code does not know stops the calculation)."""

from __future__ import annotations

from offsets.methodologies.pools import BAMBOO_BIOMASS
from offsets.methodologies.stock_change import StockChangeMethodology

AR_CM_005_V01 = StockChangeMethodology(
    id="AR-CM-005-V01",
    title_zh="竹林经营碳汇项目方法学",
    title_en="Bamboo forest management carbon sink methodology",
    project_types=("bamboo_management",),
    source=(
        "CCER AR-CM-005-V01 竹林经营碳汇项目方法学; applicability conditions as quoted in "
        "李金良《林业碳汇交易的主要误区和关键问题分析》(2021), see methodology_rules.toml"
    ),
    pools=(BAMBOO_BIOMASS,),
    needs_species=True,
    leakage_rules_id="AR-CM-005-V01",
    uncertainty_rules_ids=("AR-CM-005-V01", "CDM-AR-TOOL14"),
    description="Measured bamboo biomass stock change per stratum against a stated baseline; "
    "leakage stated by the report; CCER uncertainty rule not found: CDM AR-TOOL14 discount applied.",
)
