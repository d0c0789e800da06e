"""Forest management (森林经营碳汇): CCER AR-CM-003-V01, by tree biomass stock change.

The same stock-change computation as afforestation (``pools.TREE_BIOMASS``: per stratum
``A × V × SVD × BEF × (1 + R) × CF × 44/12`` at the start and the end of the period), applied to managed
existing forest. The baseline matters here: the existing stand grows without the project too, so the
report states the baseline removals of the period with their source (the PDD's baseline), as every
calculator here requires.

Inputs: ``period_years``; ``strata`` (``species``, ``area_ha`` or ``area_mu``, ``volume_start_m3_per_ha``,
``volume_end_m3_per_ha``, ``source``, optional measured ``parameters``); ``baseline``; ``leakage``;
``uncertainty``.

Leakage and uncertainty: only the title page, preface and the start of the contents of AR-CM-003-V01 could
be read (methodology_rules.toml), so neither rule was found. Leakage is stated by the report with its
source. The calculator applies instead the precision requirement that can be cited: CDM AR-TOOL14 v04.2
Appendix 2 (``CDM-AR-TOOL14`` in methodology_rules.toml, read in two agreeing secondary transcriptions): the
project's carbon stock change is reduced by ``d(U) × U × ΔC_ACTUAL``, with d(U) = 0, 25, 50, 75, 100 % for a
relative uncertainty U (90 % confidence) of at most 10, 15, 20, 30 and above 30 %. The CCER A/R methodologies
derive from the CDM ones and AR-CM-002-V01 lists AR-TOOL14 among the tools it uses, but whether the CCER
texts prescribe this discount is NOT established; the breakdown says so, and the discount can only lower the
credits. No other percentage is used. Once the CCER rule is added to methodology_rules.toml under the
methodology's own id, it takes precedence (a form the code does not know stops the calculation).
"""

from __future__ import annotations

from offsets.methodologies.pools import TREE_BIOMASS
from offsets.methodologies.stock_change import StockChangeMethodology

AR_CM_003_V01 = StockChangeMethodology(
    id="AR-CM-003-V01",
    title_zh="森林经营碳汇项目方法学",
    title_en="Forest management carbon sink methodology",
    project_types=("forest_management",),
    source="CCER AR-CM-003-V01 森林经营碳汇项目方法学 (2014); title page and preface read at https://345wk.com/doc/406.html",
    pools=(TREE_BIOMASS,),
    needs_species=True,
    leakage_rules_id="AR-CM-003-V01",
    uncertainty_rules_ids=("AR-CM-003-V01", "CDM-AR-TOOL14"),
    description="Tree biomass stock change per stratum against a stated baseline; "
    "leakage stated by the report; CCER uncertainty rule not found: CDM AR-TOOL14 discount applied.",
)
