"""Afforestation (造林碳汇): CCER AR-CM-001-V01 and CCER-14-001-V01, by tree biomass stock change.

Per stratum, the tree carbon stock is ``A × V × SVD × BEF × (1 + R) × CF × 44/12`` at the start and the end
of the monitoring period (``pools.TREE_BIOMASS``); the project's removals are the change, summed over the
strata. Net removals = project removals − baseline removals − leakage − uncertainty deduction
(AR-CM-001-V01: "项目减排量等于项目碳汇量减去基线碳汇量", as quoted in methodology_rules.toml).

Inputs (see ``input_description()``): ``period_years``; ``strata`` (each: ``species``, ``area_ha`` or
``area_mu``, ``volume_start_m3_per_ha``, ``volume_end_m3_per_ha``, the ``source`` of these measurements, and
optional measured ``parameters``); ``baseline`` {``removals_t_co2e``, ``source``}; ``uncertainty``
{``relative_percent``, ``confidence_level_percent``, ``source``}; and for CCER-14-001-V01 ``leakage``
{``emissions_t_co2e``, ``source``}.

Leakage. AR-CM-001-V01: LK_t = 0 ("造林活动不存在潜在泄漏，即 LKt=0"), read from methodology_rules.toml,
where the quotation is cited to a secondary source; a stated leakage is refused. CCER-14-001-V01: its
leakage rule was not found (only §1–§2 could be read), so the report states leakage with its source.

Uncertainty. The uncertainty-deduction rule of neither methodology was found in a readable copy
(methodology_rules.toml: ``found = false``). The calculator applies instead the precision requirement that can
be cited: CDM AR-TOOL14 v04.2 Appendix 2 (``CDM-AR-TOOL14`` in methodology_rules.toml, read in two agreeing
secondary transcriptions): the project's carbon stock change is reduced by ``d(U) × U × ΔC_ACTUAL``, with d(U)
= 0, 25, 50, 75, 100 % for a relative uncertainty U (90 % confidence) of at most 10, 15, 20, 30 and above 30
%. The CCER A/R methodologies derive from the CDM ones and AR-CM-002-V01 lists AR-TOOL14 among the tools it
uses, but whether the CCER texts prescribe this discount is NOT established; the breakdown says so, and the
discount can only lower the credits. No other percentage is used. Once the CCER rule is added to
methodology_rules.toml under the methodology's own id, it takes precedence (a form the code does not know
stops the calculation).

Scope. CCER-14-001-V01 also covers bamboo and shrub afforestation (§2); this calculator computes tree
strata only.
"""

from __future__ import annotations

from offsets.methodologies.pools import TREE_BIOMASS
from offsets.methodologies.stock_change import StockChangeMethodology

AR_CM_001_V01 = StockChangeMethodology(
    id="AR-CM-001-V01",
    title_zh="碳汇造林项目方法学",
    title_en="Carbon sink afforestation methodology",
    project_types=("afforestation",),
    source=(
        "CCER AR-CM-001-V01 碳汇造林项目方法学 (2013). Rules used as read into "
        "offsets/data/parameters/methodology_rules.toml: leakage LK_t = 0 and net = project − baseline "
        "(quoted in '碳汇造林项目方法学系列10——泄漏、项目减排量', https://www.sanwenwang.com/ba/ccfzlfqf.html)"
    ),
    pools=(TREE_BIOMASS,),
    needs_species=True,
    leakage_rules_id="AR-CM-001-V01",
    uncertainty_rules_ids=("AR-CM-001-V01", "CDM-AR-TOOL14"),
    description="Tree biomass stock change per stratum; LK = 0 by the methodology; "
    "CCER uncertainty rule not found: CDM AR-TOOL14 discount applied.",
)

CCER_14_001_V01 = StockChangeMethodology(
    id="CCER-14-001-V01",
    title_zh="温室气体自愿减排项目方法学 造林碳汇",
    title_en="GHG voluntary emission reduction methodology: afforestation carbon sink",
    project_types=("afforestation",),
    source=(
        "CCER-14-001-V01 温室气体自愿减排项目方法学 造林碳汇 (生态环境部, 2023); §1–§2 read "
        "(https://renrendoc.com/paper/339638050.html), see methodology_rules.toml"
    ),
    pools=(TREE_BIOMASS,),
    needs_species=True,
    leakage_rules_id="CCER-14-001-V01",
    uncertainty_rules_ids=("CCER-14-001-V01", "CDM-AR-TOOL14"),
    description="Tree biomass stock change per stratum (tree strata only); "
    "leakage stated by the report (rule not found); "
    "CCER uncertainty rule not found: CDM AR-TOOL14 discount applied.",
)
