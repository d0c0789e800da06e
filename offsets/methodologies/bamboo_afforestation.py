"""Bamboo afforestation (竹子造林碳汇): CCER AR-CM-002-V01, by bamboo biomass stock change.

Per stratum, the bamboo carbon stock is ``A × B × (1 + R) × CF × 44/12`` at the start and the end of the
period (``pools.BAMBOO_BIOMASS``), where ``B`` is the above-ground bamboo biomass per hectare (t dry
matter/ha) measured by the project and stated with its source. The methodology estimates bamboo biomass
with allometric equations; none with a citation is in ``tree_species.csv``, so the calculator takes the
measured biomass instead of inventing one. ``R`` and ``CF`` come from ``tree_species.csv`` for the species
(毛竹, 慈竹, ...) when a cited row exists, otherwise from the stratum's measured ``parameters``.

Inputs: ``period_years``; ``strata`` (``species``, ``area_ha`` or ``area_mu``, ``biomass_start_t_dm_per_ha``,
``biomass_end_t_dm_per_ha``, ``source``, optional ``parameters`` root_shoot_ratio and carbon_fraction);
``baseline``; ``leakage``; ``uncertainty``.

Leakage and uncertainty rules of AR-CM-002-V01 were not found (methodology_rules.toml): leakage is stated by
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

AR_CM_002_V01 = StockChangeMethodology(
    id="AR-CM-002-V01",
    title_zh="竹子造林碳汇项目方法学",
    title_en="Bamboo afforestation carbon sink methodology",
    project_types=("bamboo_afforestation",),
    source=(
        "CCER AR-CM-002-V01 竹子造林碳汇项目方法学; opening sections read as reproduced at "
        "http://pinpindan.com/com/zgtsl/news/itemid-74.html, see methodology_rules.toml"
    ),
    pools=(BAMBOO_BIOMASS,),
    needs_species=True,
    leakage_rules_id="AR-CM-002-V01",
    uncertainty_rules_ids=("AR-CM-002-V01", "CDM-AR-TOOL14"),
    description="Measured bamboo biomass stock change per stratum; leakage stated by the report; "
    "CCER uncertainty rule not found: CDM AR-TOOL14 discount applied.",
)
