"""The registered methodologies, by id and by project type."""

from __future__ import annotations

from offsets.methodologies.afforestation import AR_CM_001_V01, CCER_14_001_V01
from offsets.methodologies.bamboo_afforestation import AR_CM_002_V01
from offsets.methodologies.bamboo_management import AR_CM_005_V01
from offsets.methodologies.base import Methodology, UnknownMethodology
from offsets.methodologies.forest_management import AR_CM_003_V01
from offsets.methodologies.grassland import GRASSLAND_SOC_V01
from offsets.methodologies.wetland import WETLAND_STOCK_V01
from offsets.regions import PROJECT_TYPES, UnknownRegion

METHODOLOGIES: dict[str, Methodology] = {
    m.id: m
    for m in (
        AR_CM_001_V01,
        CCER_14_001_V01,
        AR_CM_002_V01,
        AR_CM_003_V01,
        AR_CM_005_V01,
        GRASSLAND_SOC_V01,
        WETLAND_STOCK_V01,
    )
}


def get(methodology_id: str) -> Methodology:
    try:
        return METHODOLOGIES[methodology_id]
    except KeyError:
        raise UnknownMethodology(methodology_id, tuple(METHODOLOGIES)) from None


def for_project_type(project_type: str) -> list[Methodology]:
    """The methodologies a project of that type may use (none yet for urban_forest)."""
    if project_type not in PROJECT_TYPES:
        raise UnknownRegion(
            f"no project type {project_type!r}; the types are {', '.join(PROJECT_TYPES)}",
            field="project_type",
        )
    return [m for m in METHODOLOGIES.values() if project_type in m.project_types]
