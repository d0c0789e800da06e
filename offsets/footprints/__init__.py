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
    load,
    packaged,
)

__all__ = [
    "CATEGORIES",
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
    "Line",
    "PersonalInputs",
    "enterprise",
    "event",
    "load",
    "packaged",
    "personal",
]
