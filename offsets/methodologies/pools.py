"""The carbon pools the calculators measure per hectare, and the cited parameters that turn each into carbon.

* Tree biomass (CCER AR-CM-001, AR-CM-003, CCER-14-001): stem volume ``V`` (m3/ha) × basic wood density
  ``SVD`` × biomass expansion factor ``BEF`` × (1 + root-to-shoot ratio ``R``) × carbon fraction ``CF``
  × 44/12, the stock-change formula of issue 3.
* Bamboo biomass (AR-CM-002, AR-CM-005): above-ground dry matter ``B`` (t d.m./ha) measured by the project
  × (1 + ``R``) × ``CF`` × 44/12. No cited bamboo allometry (biomass from culm diameter and age) is in
  ``tree_species.csv``, so the project states the measured biomass per hectare with its source.
* Soil organic carbon and vegetation biomass carbon (grassland, wetland): stocks measured by the project in
  t C/ha (to a stated depth for soil) × 44/12.

The ``maximum`` of each pool is a plausibility guard against typing errors, never part of a result.
"""

from __future__ import annotations

from decimal import Decimal

from offsets.methodologies.parameters import (
    BASIC_WOOD_DENSITY,
    BIOMASS_EXPANSION_FACTOR,
    CARBON_FRACTION,
    ROOT_SHOOT_RATIO,
)
from offsets.methodologies.stock_change import Pool

TREE_BIOMASS = Pool(
    key="tree_biomass",
    label_zh="林木生物质",
    label_en="tree biomass",
    symbol="V",
    measured_label="林分蓄积量 stem volume per hectare",
    unit="m3/ha",
    start_field="volume_start_m3_per_ha",
    end_field="volume_end_m3_per_ha",
    maximum=Decimal(2000),  # no stand in China carries 2,000 m3/ha
    kinds=(BASIC_WOOD_DENSITY, BIOMASS_EXPANSION_FACTOR, ROOT_SHOOT_RATIO, CARBON_FRACTION),
    factor_formula="SVD × BEF × (1 + R) × CF × 44/12",
)

BAMBOO_BIOMASS = Pool(
    key="bamboo_biomass",
    label_zh="竹子生物质",
    label_en="bamboo biomass",
    symbol="B",
    measured_label="竹子地上生物量 above-ground bamboo biomass per hectare (dry matter)",
    unit="t d.m./ha",
    start_field="biomass_start_t_dm_per_ha",
    end_field="biomass_end_t_dm_per_ha",
    maximum=Decimal(1000),
    kinds=(ROOT_SHOOT_RATIO, CARBON_FRACTION),
    factor_formula="(1 + R) × CF × 44/12",
)

SOIL_ORGANIC_CARBON = Pool(
    key="soil_organic_carbon",
    label_zh="土壤有机碳",
    label_en="soil organic carbon",
    symbol="SOC",
    measured_label="土壤有机碳储量 soil organic carbon stock per hectare",
    unit="t C/ha",
    start_field="soil_carbon_start_t_c_per_ha",
    end_field="soil_carbon_end_t_c_per_ha",
    maximum=Decimal(5000),  # deep peat included
    kinds=(),
    factor_formula="44/12",
)

VEGETATION_BIOMASS_CARBON = Pool(
    key="vegetation_biomass_carbon",
    label_zh="植被生物质碳",
    label_en="vegetation biomass carbon",
    symbol="BC",
    measured_label="植被生物质碳储量 vegetation biomass carbon stock per hectare",
    unit="t C/ha",
    start_field="biomass_carbon_start_t_c_per_ha",
    end_field="biomass_carbon_end_t_c_per_ha",
    maximum=Decimal(1000),
    kinds=(),
    factor_formula="44/12",
)
