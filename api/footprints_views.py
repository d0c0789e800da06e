"""Footprint estimates: ``POST /footprints/{personal,event,enterprise}`` turn what a caller knows into
kg CO2e; ``POST /footprints/event/statement`` sets an event's footprint and the kilograms retired for it
out as its carbon-neutral statement, in the 2019 large-event guideline's categories.

Public dry runs (nothing is recorded, so there is nothing for an Idempotency-Key to protect). The schemas
refuse negative, absurd and missing values with field-level problems; the domain (``offsets.footprints``)
refuses inputs for which no factor could be cited (422, naming the field). Every answer records the
factor-set version it used and the whole kilograms to offset, rounded up.

The limits are plausibility guards against typing errors, not science: a household using a million kWh a
year, a ten-million-person event or an enterprise emitting more than China's largest emitters is a mistake.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from api.blueprint import api_blueprint as bp
from api.openapi import document
from api.schemas_offsets import DecimalText, dump, load_body
from offsets import footprints
from offsets.footprints.statement import MAX_CERTIFICATES as MAX_STATEMENT_CERTIFICATES

MAX_FRACTION_DIGITS = 6
MAX_ITEMS = 100
MAX_HOUSEHOLD_KWH = Decimal(1_000_000)
MAX_PERSONAL_KM = Decimal(1_000_000)
MAX_ENTERPRISE_KWH = Decimal(10**11)
MAX_EVENT_KWH = Decimal(10**10)
MAX_EVENT_PASSENGER_KM = Decimal(10**11)
MAX_FUEL_QUANTITY = Decimal(10**9)
MAX_TONNAGE_T = Decimal(10**9)
MAX_MEASURED_KG = Decimal(10**12)
MAX_ATTENDEES = 10_000_000
MAX_EVENT_DAYS = 366
MAX_HOUSEHOLD_GAS_M3 = Decimal(100_000)
MAX_OFFSET_KG = 10**15
MAX_CERTIFICATES = MAX_STATEMENT_CERTIFICATES
FUEL_TYPE = r"[a-z][a-z_]{1,39}"
PARAMETERS = ("net_calorific_value_gj_per_unit", "carbon_content_tc_per_gj", "oxidation_rate")


def _places(value: Decimal) -> None:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MAX_FRACTION_DIGITS:
        raise ValidationError(f"at most {MAX_FRACTION_DIGITS} decimal places")


def _amount(maximum: Decimal, *, required: bool = False, positive: bool = False) -> DecimalText:
    """A non-negative (or positive) decimal up to ``maximum`` with at most 6 decimal places."""
    bounds = validate.Range(min=Decimal(0), max=maximum, min_inclusive=not positive)
    return DecimalText(required=required, allow_none=not required, validate=[bounds, _places])


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class FootprintElectricitySchema(_Strict):
    kwh = _amount(MAX_ENTERPRISE_KWH, required=True)
    grid_region = fields.String(required=True, validate=validate.Length(min=2, max=32))
    grid_year = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1990, max=2100)
    )


class FootprintFuelSchema(_Strict):
    """A fuel burnt. Each parameter left out is taken from the cited defaults of ``fuel_type``
    (``natural_gas``, ``gasoline``, ``diesel``, ``liquefied_petroleum_gas``, ``anthracite``,
    ``bituminous_coal``, ``lignite``); measured parameters, when given, take precedence."""

    fuel = fields.String(required=True, validate=validate.Length(min=1, max=100))
    fuel_type = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(FUEL_TYPE))
    quantity = _amount(MAX_FUEL_QUANTITY, required=True)
    quantity_unit = fields.String(required=True, validate=validate.OneOf(("t", "10^4 Nm3")))
    net_calorific_value_gj_per_unit = _amount(Decimal(100_000), positive=True)
    carbon_content_tc_per_gj = _amount(Decimal(1), positive=True)
    oxidation_rate = _amount(Decimal(1), positive=True)

    @validates_schema
    def _parameters_or_fuel_type(self, data: dict[str, Any], **_kwargs: Any) -> None:
        missing = [name for name in PARAMETERS if data.get(name) is None]
        if missing and data.get("fuel_type") is None:
            message = "give the measured parameter, or a fuel_type whose defaults are cited"
            raise ValidationError({name: [message] for name in missing})


class FootprintMeasuredSchema(_Strict):
    """Totals in kg CO2e the organiser measured itself, per category of the 2019 guideline, for what the
    cited factors do not cover (taxis, cars and coaches; hotels and meals; materials; waste)."""

    fossil_fuel_combustion = _amount(MAX_MEASURED_KG)
    transport = _amount(MAX_MEASURED_KG)
    accommodation_catering = _amount(MAX_MEASURED_KG)
    materials = _amount(MAX_MEASURED_KG)
    waste = _amount(MAX_MEASURED_KG)


class PersonalFootprintRequestSchema(_Strict):
    electricity_kwh = _amount(MAX_HOUSEHOLD_KWH)
    grid_region = fields.String(load_default="sichuan", validate=validate.Length(min=2, max=32))
    grid_year = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1990, max=2100)
    )
    high_speed_rail_km = _amount(MAX_PERSONAL_KM)
    flight_km = _amount(MAX_PERSONAL_KM)
    natural_gas_m3 = _amount(MAX_HOUSEHOLD_GAS_M3)
    car_km = _amount(MAX_PERSONAL_KM)
    car_fuel_l = _amount(MAX_PERSONAL_KM)
    coach_km = _amount(MAX_PERSONAL_KM)
    flight_cabin_class = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(("economy", "premium_economy", "business", "first")),
    )

    @validates_schema
    def _some_activity(self, data: dict[str, Any], **_kwargs: Any) -> None:
        activities = (
            "electricity_kwh",
            "high_speed_rail_km",
            "flight_km",
            "natural_gas_m3",
            "car_km",
            "car_fuel_l",
            "coach_km",
        )
        if all(data.get(name) is None for name in activities):
            raise ValidationError("give at least one activity: " + ", ".join(activities), "electricity_kwh")


class EnterpriseFootprintRequestSchema(_Strict):
    fuels = fields.List(
        fields.Nested(FootprintFuelSchema), load_default=list, validate=validate.Length(max=MAX_ITEMS)
    )
    electricity = fields.List(
        fields.Nested(FootprintElectricitySchema), load_default=list, validate=validate.Length(max=MAX_ITEMS)
    )
    purchased_heat_gj = _amount(MAX_ENTERPRISE_KWH)
    compliance_tonnage_t = _amount(MAX_TONNAGE_T)

    @validates_schema
    def _some_activity(self, data: dict[str, Any], **_kwargs: Any) -> None:
        given = (data.get("fuels"), data.get("electricity"))
        entered = (data.get("compliance_tonnage_t"), data.get("purchased_heat_gj"))
        if not any(given) and all(value is None for value in entered):
            raise ValidationError(
                "give fuels, electricity or the compliance tonnage to cover", "compliance_tonnage_t"
            )


class EventFootprintRequestSchema(_Strict):
    attendees = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ATTENDEES))
    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_EVENT_DAYS))
    venue_electricity = fields.List(
        fields.Nested(FootprintElectricitySchema), load_default=list, validate=validate.Length(max=MAX_ITEMS)
    )
    fuels = fields.List(
        fields.Nested(FootprintFuelSchema), load_default=list, validate=validate.Length(max=MAX_ITEMS)
    )
    rail_passenger_km = _amount(MAX_EVENT_PASSENGER_KM)
    flight_passenger_km = _amount(MAX_EVENT_PASSENGER_KM)
    coach_passenger_km = _amount(MAX_EVENT_PASSENGER_KM)
    purchased_heat_gj = _amount(MAX_EVENT_KWH)
    measured_kg = fields.Nested(FootprintMeasuredSchema, load_default=dict)

    @validates_schema
    def _venue_within_limit(self, data: dict[str, Any], **_kwargs: Any) -> None:
        for index, use in enumerate(data.get("venue_electricity") or []):
            if use["kwh"] > MAX_EVENT_KWH:
                raise ValidationError(
                    f"at most {MAX_EVENT_KWH} kWh for an event", f"venue_electricity.{index}.kwh"
                )


class EventStatementRequestSchema(EventFootprintRequestSchema):
    """The event's inputs, as for ``/footprints/event``, and what was retired for it."""

    offset_kg = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_OFFSET_KG))
    certificate_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=MAX_CERTIFICATES),
    )


class FootprintCategorySchema(Schema):
    category = fields.String()
    name = fields.String()
    emissions_kg = fields.String(metadata={"description": "kg CO2e, rounded up to 6 decimal places"})


class FootprintLineSchema(Schema):
    category = fields.String()
    label = fields.String()
    quantity = fields.String()
    quantity_unit = fields.String()
    emissions_kg = fields.String()
    factor = fields.Dict(
        allow_none=True,
        metadata={
            "description": "what was applied: a cited emission factor "
            "{id, value, unit, region, year, source}; a fuel's parameters "
            "{id, net_calorific_value_gj_per_unit, carbon_content_tc_per_gj, oxidation_rate, source}, "
            "id 'measured' or 'defaults:<fuel type>'; or null for a measured total"
        },
    )


class FootprintBreakdownSchema(Schema):
    factor_set_version = fields.Integer()
    total_kg = fields.String(metadata={"description": "kg CO2e, rounded up to 6 decimal places"})
    offset_kg = fields.Integer(metadata={"description": "whole kg to offset: the total rounded up"})
    categories = fields.List(fields.Nested(FootprintCategorySchema))
    lines = fields.List(fields.Nested(FootprintLineSchema))


class FootprintSchema(FootprintBreakdownSchema):
    kind = fields.String()


class StatementCategorySchema(Schema):
    category = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    emissions_kg = fields.String(metadata={"description": "kg CO2e, rounded up to 6 decimal places"})


class BilingualTextSchema(Schema):
    zh = fields.String()
    en = fields.String()


class EventStatementSchema(Schema):
    guideline = fields.Nested(BilingualTextSchema)
    factor_set_version = fields.Integer()
    categories = fields.List(fields.Nested(StatementCategorySchema))
    total_kg = fields.String(metadata={"description": "exact total, kg CO2e rounded up to 6 places"})
    footprint_kg = fields.Integer(metadata={"description": "the total rounded up to whole kg"})
    offset_kg = fields.Integer()
    shortfall_kg = fields.Integer()
    carbon_neutral = fields.Boolean(metadata={"description": "offset_kg >= footprint_kg"})
    certificate_ids = fields.List(fields.String())
    statement = fields.Nested(BilingualTextSchema)


def _decimal(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else value


def _electricity(items: list[dict[str, Any]]) -> tuple[footprints.ElectricityUse, ...]:
    return tuple(footprints.ElectricityUse(i["kwh"], i["grid_region"], i["grid_year"]) for i in items)


def _fuels(items: list[dict[str, Any]]) -> tuple[footprints.FuelCombustion, ...]:
    return tuple(footprints.FuelCombustion(**item) for item in items)


def event_inputs(body: dict[str, Any]) -> footprints.EventInputs:
    """The calculator's inputs from a body loaded by :class:`EventFootprintRequestSchema`."""
    measured = {key: value for key, value in body["measured_kg"].items() if value is not None}
    return footprints.EventInputs(
        attendees=body["attendees"],
        days=body["days"],
        venue_electricity=_electricity(body["venue_electricity"]),
        fuels=_fuels(body["fuels"]),
        rail_passenger_km=_decimal(body.get("rail_passenger_km")),
        flight_passenger_km=_decimal(body.get("flight_passenger_km")),
        purchased_heat_gj=body.get("purchased_heat_gj"),
        measured_kg=measured,
        coach_passenger_km=body.get("coach_passenger_km"),
    )


@bp.post("/footprints/personal")
@document(
    "Estimate a person's footprint (household electricity by grid, natural gas, rail, flights) in kg CO2e",
    body="PersonalFootprintRequestSchema",
    response="FootprintSchema",
    tag="footprints",
)
def estimate_personal_footprint() -> dict[str, Any]:
    body = load_body(PersonalFootprintRequestSchema())
    inputs = footprints.PersonalInputs(
        electricity_kwh=_decimal(body.get("electricity_kwh")),
        grid_region=body["grid_region"],
        grid_year=body["grid_year"],
        high_speed_rail_km=_decimal(body.get("high_speed_rail_km")),
        flight_km=_decimal(body.get("flight_km")),
        natural_gas_m3=body.get("natural_gas_m3"),
        car_km=body.get("car_km"),
        car_fuel_l=body.get("car_fuel_l"),
        coach_km=body.get("coach_km"),
        flight_cabin_class=body.get("flight_cabin_class"),
    )
    return dump(FootprintSchema(), footprints.personal(inputs, footprints.packaged()).as_dict())


@bp.post("/footprints/enterprise")
@document(
    "Estimate an enterprise's scope 1 and 2 emissions (fuels, electricity, heat), or take the compliance "
    "tonnage, in kg CO2e",
    body="EnterpriseFootprintRequestSchema",
    response="FootprintSchema",
    tag="footprints",
)
def estimate_enterprise_footprint() -> dict[str, Any]:
    body = load_body(EnterpriseFootprintRequestSchema())
    inputs = footprints.EnterpriseInputs(
        fuels=_fuels(body["fuels"]),
        electricity=_electricity(body["electricity"]),
        purchased_heat_gj=body.get("purchased_heat_gj"),
        compliance_tonnage_t=body.get("compliance_tonnage_t"),
    )
    return dump(FootprintSchema(), footprints.enterprise(inputs, footprints.packaged()).as_dict())


@bp.post("/footprints/event")
@document(
    "Estimate a large event's emissions in the categories of the 2019 guideline (大型活动碳中和实施指南)",
    body="EventFootprintRequestSchema",
    response="FootprintSchema",
    tag="footprints",
)
def estimate_event_footprint() -> dict[str, Any]:
    body = load_body(EventFootprintRequestSchema())
    result = footprints.event(event_inputs(body), footprints.packaged())
    return dump(FootprintSchema(), result.as_dict())


@bp.post("/footprints/event/statement")
@document(
    "An event's carbon-neutral statement: its footprint in the 2019 guideline's categories against the "
    "kilograms retired for it (大型活动碳中和声明)",
    body="EventStatementRequestSchema",
    response="EventStatementSchema",
    tag="footprints",
)
def event_carbon_neutral_statement() -> dict[str, Any]:
    body = load_body(EventStatementRequestSchema())
    result = footprints.event(event_inputs(body), footprints.packaged())
    statement = footprints.event_statement(result, body["offset_kg"], body["certificate_ids"])
    return dump(EventStatementSchema(), statement)
