"""Footprint calculators (碳足迹, 大型活动碳中和, enterprise scopes 1 and 2) over cited, versioned factors."""

from offsets.footprints.calculators import (
    CATEGORIES,
    MEASURED_EVENT_CATEGORIES,
    ElectricityUse,
    EnterpriseInputs,
    EventInputs,
    Footprint,
    FuelCombustion,
    Line,
    PersonalInputs,
    enterprise,
    event,
    personal,
)
from offsets.footprints.factors import (
    EmissionFactor,
    FactorDataError,
    FactorNotAvailable,
    FactorSet,
    FuelDefaults,
    load,
    packaged,
)
from offsets.footprints.statement import EVENT_CATEGORIES, GUIDELINE, event_statement

__all__ = [
    "CATEGORIES",
    "EVENT_CATEGORIES",
    "GUIDELINE",
    "MEASURED_EVENT_CATEGORIES",
    "ElectricityUse",
    "EmissionFactor",
    "EnterpriseInputs",
    "EventInputs",
    "FactorDataError",
    "FactorNotAvailable",
    "FactorSet",
    "Footprint",
    "FuelCombustion",
    "FuelDefaults",
    "Line",
    "PersonalInputs",
    "enterprise",
    "event",
    "event_statement",
    "load",
    "packaged",
    "personal",
]
