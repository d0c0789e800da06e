"""Footprint calculators: what a person, an event organiser or an enterprise knows, turned into kg CO2e.

Every line of a result is an activity times a cited factor (or a measured figure the caller vouches for),
computed exactly with :class:`fractions.Fraction` over ``Decimal`` inputs. A result keeps the exact total,
its breakdown per category, the factor-set version used, and the whole kilograms to offset, rounded *up*
(CONVENTIONS.md §3: an offset someone must buy never falls short of the footprint). Inputs for which no
factor could be cited (car per km or by litres, coach, flight cabin classes, per-attendee defaults) are
refused with :class:`~offsets.footprints.factors.FactorNotAvailable` naming the field, never guessed.

Field names match the API's request bodies, so that an error names the field the caller sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, Rounded
from fractions import Fraction
from typing import Any

from offsets.errors import InvalidInput
from offsets.footprints.factors import EmissionFactor, FactorNotAvailable, FactorSet

# t C -> t CO2: the molar-mass ratio 44/12 of the fuel-combustion formula (consumption × net calorific value
# × carbon content per unit heat × oxidation rate × 44/12), the formula of the NDRC enterprise GHG accounting
# guidelines that the 2019 large-event guideline refers fuel combustion to
# (公共建筑运营单位（企业）温室气体排放核算方法与报告指南（试行）, 发改办气候〔2015〕1722号).
CO2_PER_C = Fraction(44, 12)
KG_PER_T = 1000
# A household gas meter reads cubic metres; the defaults are per 10^4 Nm3. Metered gas is warmer than 0 °C,
# so a metered m3 holds slightly less than an Nm3: reading it as an Nm3 can only overstate the footprint,
# which is the safe side for an offset.
M3_PER_10K_NM3 = 10_000
# Shifting the decimal point of an integer must never round: any rounding traps.
_EXACT = Context(prec=200, traps=[Inexact, Rounded])
DISPLAY_DIGITS = 6  # breakdown values in kg are shown rounded up to 6 places (1 mg)

# Category codes and their names. The event categories are those of the 2019 guideline's table of emission
# sources (生态环境部《大型活动碳中和实施指南（试行）》, 2019, 附表: 排放类型).
CATEGORIES = {
    "household_electricity": "家庭用电 Household electricity",
    "rail_travel": "高铁出行 High-speed rail travel",
    "air_travel": "航空出行 Air travel",
    "scope1_fuel_combustion": "范围一 化石燃料燃烧 Scope 1 fuel combustion",
    "scope2_purchased_electricity": "范围二 净购入电力 Scope 2 purchased electricity",
    "scope2_purchased_heat": "范围二 净购入热力 Scope 2 purchased heat",
    "household_natural_gas": "家庭天然气 Household natural gas",
    "entered_obligation": "直接录入的履约量 Tonnage entered directly",
    "fossil_fuel_combustion": "化石燃料燃烧排放 Fossil fuel combustion",
    "purchased_electricity_heat": "净购入电力、热力排放 Net purchased electricity and heat",
    "transport": "交通排放 Transport",
    "accommodation_catering": "住宿餐饮排放 Accommodation and catering",
    "materials": "会议用品隐含的碳排放 Embodied emissions of materials",
    "waste": "废弃物处理产生的排放 Waste treatment",
}


@dataclass(frozen=True, slots=True)
class ElectricityUse:
    kwh: Decimal
    grid_region: str
    grid_year: int | None = None


@dataclass(frozen=True, slots=True)
class FuelCombustion:
    """A fuel burnt: ``quantity`` in ``quantity_unit`` (``t`` or ``10^4 Nm3``) and its three parameters.

    Measured parameters come first (GB/T 32150 prefers measured to default values); a parameter left out is
    taken from the cited defaults of ``fuel_type`` (``natural_gas``, ``diesel``, ...; factor set v2 on), and
    without a ``fuel_type`` with defaults it is refused. ``net_calorific_value_gj_per_unit`` is in GJ per
    ``quantity_unit``, ``carbon_content_tc_per_gj`` in tC/GJ, ``oxidation_rate`` a fraction (0.99 for 99 %).
    """

    fuel: str
    quantity: Decimal
    quantity_unit: str
    net_calorific_value_gj_per_unit: Decimal | None = None
    carbon_content_tc_per_gj: Decimal | None = None
    oxidation_rate: Decimal | None = None
    fuel_type: str | None = None


@dataclass(frozen=True, slots=True)
class PersonalInputs:
    electricity_kwh: Decimal = Decimal(0)
    grid_region: str = "sichuan"
    grid_year: int | None = None
    high_speed_rail_km: Decimal = Decimal(0)
    flight_km: Decimal = Decimal(0)
    natural_gas_m3: Decimal | None = None
    car_km: Decimal | None = None
    car_fuel_l: Decimal | None = None
    coach_km: Decimal | None = None
    flight_cabin_class: str | None = None


@dataclass(frozen=True, slots=True)
class EnterpriseInputs:
    fuels: Sequence[FuelCombustion] = ()
    electricity: Sequence[ElectricityUse] = ()
    purchased_heat_gj: Decimal | None = None
    compliance_tonnage_t: Decimal | None = None


@dataclass(frozen=True, slots=True)
class EventInputs:
    attendees: int
    days: int
    venue_electricity: Sequence[ElectricityUse] = ()
    fuels: Sequence[FuelCombustion] = ()
    rail_passenger_km: Decimal = Decimal(0)
    flight_passenger_km: Decimal = Decimal(0)
    purchased_heat_gj: Decimal | None = None
    measured_kg: dict[str, Decimal] = field(default_factory=dict)
    coach_passenger_km: Decimal | None = None


# The event categories for which the organiser may enter a measured total (kg CO2e) because no default
# per attendee-day could be cited.
MEASURED_EVENT_CATEGORIES = (
    "fossil_fuel_combustion",
    "transport",
    "accommodation_catering",
    "materials",
    "waste",
)


@dataclass(frozen=True, slots=True)
class Line:
    """One item of a breakdown: an activity, the factor applied (if any) and the exact emissions in kg."""

    category: str
    label: str
    quantity: Decimal
    quantity_unit: str
    emissions_kg: Fraction
    factor: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        assert self.category in CATEGORIES, self.category
        assert self.quantity >= 0, self.quantity
        assert self.emissions_kg >= 0, self.emissions_kg

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "label": self.label,
            "quantity": str(self.quantity),
            "quantity_unit": self.quantity_unit,
            "emissions_kg": display_kg(self.emissions_kg),
            "factor": self.factor,
        }


@dataclass(frozen=True, slots=True)
class Footprint:
    kind: str
    factor_set_version: int
    lines: tuple[Line, ...]

    @property
    def total_kg(self) -> Fraction:
        return sum((line.emissions_kg for line in self.lines), Fraction(0))

    @property
    def offset_kg(self) -> int:
        """Whole kilograms to offset: the exact total rounded up, never under-offset."""
        result = math.ceil(self.total_kg)
        assert result >= self.total_kg
        return result

    def by_category(self) -> dict[str, Fraction]:
        totals: dict[str, Fraction] = {}
        for line in self.lines:
            totals[line.category] = totals.get(line.category, Fraction(0)) + line.emissions_kg
        return totals

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "factor_set_version": self.factor_set_version,
            "total_kg": display_kg(self.total_kg),
            "offset_kg": self.offset_kg,
            "categories": [
                {"category": code, "name": CATEGORIES[code], "emissions_kg": display_kg(total)}
                for code, total in self.by_category().items()
            ],
            "lines": [line.as_dict() for line in self.lines],
        }


def display_kg(value: Fraction) -> str:
    """``value`` as a decimal string, rounded up to 1 mg (exactly: integer ceiling, no decimal context)."""
    milligrams_up = math.ceil(value * 10**DISPLAY_DIGITS)
    shifted = _EXACT.scaleb(Decimal(milligrams_up), Decimal(-DISPLAY_DIGITS))
    return format(_EXACT.normalize(shifted), "f")


def _refuse_if_given(value: object, field_name: str, what: str) -> None:
    if value is not None:
        raise FactorNotAvailable(
            f"no official factor for {what} could be cited, so this input is not accepted", field=field_name
        )


def _electricity_line(use: ElectricityUse, category: str, factors: FactorSet, field_name: str) -> Line:
    factor = factors.grid(use.grid_region, use.grid_year, field=field_name)
    return Line(
        category=category,
        label=f"电力 {use.grid_region} {factor.year}",
        quantity=use.kwh,
        quantity_unit="kWh",
        emissions_kg=Fraction(use.kwh) * factor.kg_per_activity_unit,
        factor=factor.as_dict(),
    )


def _transport_line(km: Decimal, mode: str, category: str, factors: FactorSet, field_name: str) -> Line:
    factor = factors.transport(mode, field=field_name)
    return Line(
        category=category,
        label=mode,
        quantity=km,
        quantity_unit="passenger-km",
        emissions_kg=Fraction(km) * factor.kg_per_activity_unit,
        factor=factor.as_dict(),
    )


def _heat_line(gj: Decimal, category: str, factors: FactorSet, field_name: str) -> Line:
    factor = factors.heat(field=field_name)
    return Line(
        category=category,
        label="外购热力 purchased heat",
        quantity=gj,
        quantity_unit="GJ",
        emissions_kg=Fraction(gj) * factor.kg_per_activity_unit,
        factor=factor.as_dict(),
    )


def _parameter(
    measured: Decimal | None, default: EmissionFactor | None, unit: str
) -> tuple[Fraction, dict[str, Any]]:
    """A measured parameter if the caller gave one, else the cited default, with where it came from."""
    if measured is not None:
        return Fraction(measured), {"value": str(measured), "unit": unit, "source": "measured"}
    assert default is not None
    return Fraction(default.value), {
        "value": str(default.value),
        "unit": default.unit,
        "source": default.source,
        "id": default.id,
    }


def _fuel_line(
    fuel: FuelCombustion, category: str, factors: FactorSet | None = None, field_prefix: str = "fuels.0"
) -> Line:
    measured = (
        fuel.net_calorific_value_gj_per_unit,
        fuel.carbon_content_tc_per_gj,
        fuel.oxidation_rate,
    )
    defaults = None
    if any(value is None for value in measured):
        if fuel.fuel_type is None or factors is None:
            missing = (
                "net_calorific_value_gj_per_unit",
                "carbon_content_tc_per_gj",
                "oxidation_rate",
            )[[value is None for value in measured].index(True)]
            raise FactorNotAvailable(
                "give the measured parameter, or a fuel_type whose default parameters are cited",
                field=f"{field_prefix}.{missing}",
            )
        defaults = factors.fuel_defaults(fuel.fuel_type, field=f"{field_prefix}.fuel_type")
        if fuel.net_calorific_value_gj_per_unit is None and fuel.quantity_unit != defaults.quantity_unit:
            raise InvalidInput(
                f"the default net calorific value of {fuel.fuel_type} is per {defaults.quantity_unit}",
                field=f"{field_prefix}.quantity_unit",
            )
    ncv, ncv_used = _parameter(
        fuel.net_calorific_value_gj_per_unit,
        defaults.net_calorific_value if defaults else None,
        f"GJ/{fuel.quantity_unit}",
    )
    carbon, carbon_used = _parameter(
        fuel.carbon_content_tc_per_gj, defaults.carbon_content if defaults else None, "tC/GJ"
    )
    oxidation, oxidation_used = _parameter(
        fuel.oxidation_rate, defaults.oxidation_rate if defaults else None, "ratio"
    )
    tonnes_co2 = Fraction(fuel.quantity) * ncv * carbon * oxidation * CO2_PER_C
    return Line(
        category=category,
        label=fuel.fuel,
        quantity=fuel.quantity,
        quantity_unit=fuel.quantity_unit,
        emissions_kg=tonnes_co2 * KG_PER_T,
        factor={
            "id": "measured" if defaults is None else f"defaults:{defaults.fuel_type}",
            "net_calorific_value_gj_per_unit": ncv_used,
            "carbon_content_tc_per_gj": carbon_used,
            "oxidation_rate": oxidation_used,
            "source": "formula AD × NCV × CC × OF × 44/12 "
            "(NDRC enterprise GHG accounting guidelines, 发改办气候〔2015〕1722号; GB/T 32150)",
        },
    )


def _household_gas_line(m3: Decimal, factors: FactorSet) -> Line:
    factors.fuel_defaults("natural_gas", field="natural_gas_m3")  # refuses naming the person's field
    fuel = FuelCombustion("天然气 natural gas", m3 / M3_PER_10K_NM3, "10^4 Nm3", fuel_type="natural_gas")
    line = _fuel_line(fuel, "household_natural_gas", factors, "natural_gas")
    # Report the quantity as the person entered it; the arithmetic above used 10^4 Nm3.
    return Line(
        category=line.category,
        label=line.label,
        quantity=m3,
        quantity_unit="m3",
        emissions_kg=line.emissions_kg,
        factor=line.factor,
    )


def personal(inputs: PersonalInputs, factors: FactorSet) -> Footprint:
    """A person's footprint over whatever period the inputs cover (a year, or a single trip)."""
    _refuse_if_given(inputs.car_km, "car_km", "car travel per km")
    _refuse_if_given(inputs.car_fuel_l, "car_fuel_l", "car fuel per litre (no cited fuel density)")
    _refuse_if_given(inputs.coach_km, "coach_km", "coach travel per passenger-km")
    _refuse_if_given(inputs.flight_cabin_class, "flight_cabin_class", "flights by cabin class")
    electricity = ElectricityUse(inputs.electricity_kwh, inputs.grid_region, inputs.grid_year)
    lines = [
        _electricity_line(electricity, "household_electricity", factors, "grid_region"),
        _transport_line(
            inputs.high_speed_rail_km, "high_speed_rail", "rail_travel", factors, "high_speed_rail_km"
        ),
        _transport_line(inputs.flight_km, "civil_aviation", "air_travel", factors, "flight_km"),
    ]
    if inputs.natural_gas_m3 is not None:
        lines.append(_household_gas_line(inputs.natural_gas_m3, factors))
    return Footprint("personal", factors.version, tuple(lines))


def enterprise(inputs: EnterpriseInputs, factors: FactorSet) -> Footprint:
    """Scope 1 fuel combustion and scope 2 purchased electricity and heat, or a tonnage entered directly."""
    if inputs.compliance_tonnage_t is not None:
        if inputs.fuels or inputs.electricity or inputs.purchased_heat_gj is not None:
            raise FactorNotAvailable(
                "enter either the tonnage to cover or the fuels, electricity and heat, not both (it would "
                "count the same emissions twice)",
                field="compliance_tonnage_t",
            )
        line = Line(
            category="entered_obligation",
            label="compliance tonnage entered by the buyer",
            quantity=inputs.compliance_tonnage_t,
            quantity_unit="t CO2e",
            emissions_kg=Fraction(inputs.compliance_tonnage_t) * KG_PER_T,
        )
        return Footprint("enterprise", factors.version, (line,))
    lines = [
        _fuel_line(fuel, "scope1_fuel_combustion", factors, f"fuels.{index}")
        for index, fuel in enumerate(inputs.fuels)
    ]
    lines += [
        _electricity_line(use, "scope2_purchased_electricity", factors, f"electricity.{index}.grid_region")
        for index, use in enumerate(inputs.electricity)
    ]
    if inputs.purchased_heat_gj is not None:
        lines.append(
            _heat_line(inputs.purchased_heat_gj, "scope2_purchased_heat", factors, "purchased_heat_gj")
        )
    return Footprint("enterprise", factors.version, tuple(lines))


def event(inputs: EventInputs, factors: FactorSet) -> Footprint:
    """A large event in the categories of the 2019 large-event guideline (大型活动碳中和实施指南（试行）)."""
    assert inputs.attendees > 0, inputs.attendees
    assert inputs.days > 0, inputs.days
    _refuse_if_given(inputs.coach_passenger_km, "coach_passenger_km", "coach travel per passenger-km")
    unknown = sorted(set(inputs.measured_kg) - set(MEASURED_EVENT_CATEGORIES))
    assert not unknown, unknown
    lines = [
        _fuel_line(fuel, "fossil_fuel_combustion", factors, f"fuels.{index}")
        for index, fuel in enumerate(inputs.fuels)
    ]
    lines += [
        _electricity_line(
            use, "purchased_electricity_heat", factors, f"venue_electricity.{index}.grid_region"
        )
        for index, use in enumerate(inputs.venue_electricity)
    ]
    if inputs.purchased_heat_gj is not None:
        lines.append(
            _heat_line(inputs.purchased_heat_gj, "purchased_electricity_heat", factors, "purchased_heat_gj")
        )
    lines.append(
        _transport_line(
            inputs.rail_passenger_km, "high_speed_rail", "transport", factors, "rail_passenger_km"
        )
    )
    lines.append(
        _transport_line(
            inputs.flight_passenger_km, "civil_aviation", "transport", factors, "flight_passenger_km"
        )
    )
    for category in MEASURED_EVENT_CATEGORIES:
        measured = inputs.measured_kg.get(category)
        if measured is not None:
            lines.append(
                Line(
                    category=category,
                    label="measured by the organiser",
                    quantity=measured,
                    quantity_unit="kg CO2e",
                    emissions_kg=Fraction(measured),
                )
            )
    return Footprint("event", factors.version, tuple(lines))
