"""The footprint endpoints: breakdowns from cited factors, and field-level problems for bad input."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import ceil

import pytest
from api_support import API, assert_problem

from offsets.footprints import packaged


def post(client, kind, body):
    return client.post(f"{API}/footprints/{kind}", json=body)


def test_a_person_gets_a_breakdown_from_the_sichuan_grid_and_flights(client):
    response = post(client, "personal", {"electricity_kwh": "2400", "flight_km": 1800})

    assert response.status_code == 200
    result = response.get_json()
    factors = packaged()
    grid = factors.factors["grid.sichuan.2023"].value
    flight = factors.factors["transport.civil_aviation.2019"].value
    expected = Decimal(2400) * grid + Decimal(1800) * flight / 1000
    assert Decimal(result["total_kg"]) == expected
    assert result["offset_kg"] == ceil(expected)
    assert result["factor_set_version"] == factors.version
    by_category = {item["category"]: item["emissions_kg"] for item in result["categories"]}
    assert Decimal(by_category["household_electricity"]) == Decimal(2400) * grid
    assert result["lines"][0]["factor"]["id"] == "grid.sichuan.2023"


def test_an_enterprise_gets_scope_1_and_scope_2(client):
    body = {
        "fuels": [
            {
                "fuel": "天然气",
                "quantity": "10",
                "quantity_unit": "10^4 Nm3",
                "net_calorific_value_gj_per_unit": "389.31",
                "carbon_content_tc_per_gj": "0.01532",
                "oxidation_rate": "0.99",
            }
        ],
        "electricity": [{"kwh": 100000, "grid_region": "national", "grid_year": 2023}],
    }

    result = post(client, "enterprise", body).get_json()

    scope1_kg = (
        Fraction("10") * Fraction("389.31") * Fraction("0.01532") * Fraction("0.99") * Fraction(44, 12) * 1000
    )
    scope2_kg = Fraction(100000) * Fraction("0.5306")
    assert result["offset_kg"] == ceil(scope1_kg + scope2_kg)
    assert {item["category"] for item in result["categories"]} == {
        "scope1_fuel_combustion",
        "scope2_purchased_electricity",
    }


def test_a_compliance_buyer_enters_the_tonnage_directly(client):
    result = post(client, "enterprise", {"compliance_tonnage_t": "1234.5678"}).get_json()

    assert result["offset_kg"] == 1234568
    assert result["total_kg"] == "1234567.8"


def test_an_event_reports_the_guideline_categories_with_measured_figures(client):
    body = {
        "attendees": 800,
        "days": 2,
        "venue_electricity": [{"kwh": "15000", "grid_region": "sichuan", "grid_year": 2022}],
        "rail_passenger_km": 120000,
        "flight_passenger_km": 300000,
        "measured_kg": {"accommodation_catering": "5200.5", "materials": 310, "waste": "42"},
    }

    result = post(client, "event", body).get_json()

    expected = (
        Decimal(15000) * Decimal("0.1404")
        + Decimal(120000) * Decimal("30.48") / 1000
        + Decimal(300000) * Decimal("95.3") / 1000
        + Decimal("5200.5")
        + 310
        + 42
    )
    assert Decimal(result["total_kg"]) == expected
    assert result["offset_kg"] == ceil(expected)
    categories = [item["category"] for item in result["categories"]]
    assert categories == [
        "purchased_electricity_heat",
        "transport",
        "accommodation_catering",
        "materials",
        "waste",
    ]


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("personal", {"electricity_kwh": "-1"}, "electricity_kwh"),
        ("personal", {"electricity_kwh": 1.5}, "electricity_kwh"),
        ("personal", {"electricity_kwh": "1000000000"}, "electricity_kwh"),
        ("personal", {"flight_km": "1.1234567"}, "flight_km"),
        ("personal", {}, "electricity_kwh"),
        ("personal", {"electricity_kwh": 10, "shoe_size": 42}, "shoe_size"),
        ("event", {"attendees": 10**9, "days": 1}, "attendees"),
        ("event", {"attendees": 0, "days": 1}, "attendees"),
        ("event", {"days": 1}, "attendees"),
        ("event", {"attendees": 100}, "days"),
        ("event", {"attendees": 100, "days": 1, "measured_kg": {"waste": "-5"}}, "measured_kg.waste"),
        (
            "event",
            {"attendees": 100, "days": 1, "venue_electricity": [{"kwh": 10}]},
            "venue_electricity.0.grid_region",
        ),
        ("enterprise", {}, "compliance_tonnage_t"),
        ("enterprise", {"compliance_tonnage_t": "1e12"}, "compliance_tonnage_t"),
        (
            "enterprise",
            {"fuels": [{"fuel": "煤", "quantity": 1, "quantity_unit": "t"}]},
            "fuels.0.carbon_content_tc_per_gj",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, kind, body, field):
    problem = assert_problem(post(client, kind, body), 400)

    assert field in {error["field"] for error in problem["errors"]}, problem


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("personal", {"car_km": "5000"}, "car_km"),
        ("personal", {"car_fuel_l": "300"}, "car_fuel_l"),
        ("personal", {"coach_km": "300"}, "coach_km"),
        ("personal", {"flight_km": 900, "flight_cabin_class": "business"}, "flight_cabin_class"),
        ("personal", {"electricity_kwh": 100, "grid_region": "sichuan", "grid_year": 2021}, "grid_region"),
        ("personal", {"electricity_kwh": 100, "grid_region": "atlantis"}, "grid_region"),
        (
            "enterprise",
            {"fuels": [{"fuel": "泥炭", "fuel_type": "peat", "quantity": 1, "quantity_unit": "t"}]},
            "fuels.0.fuel_type",
        ),
        (
            "enterprise",
            {"compliance_tonnage_t": 5, "electricity": [{"kwh": 1, "grid_region": "national"}]},
            "compliance_tonnage_t",
        ),
        ("event", {"attendees": 10, "days": 1, "coach_passenger_km": 1}, "coach_passenger_km"),
        (
            "enterprise",
            {"compliance_tonnage_t": 5, "purchased_heat_gj": "1"},
            "compliance_tonnage_t",
        ),
    ],
)
def test_an_input_without_a_cited_factor_is_refused_not_guessed(client, kind, body, field):
    assert_problem(post(client, kind, body), 422, field)


def test_the_footprint_endpoints_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]

    for kind in ("personal", "event", "enterprise"):
        operation = paths[f"/api/v1/footprints/{kind}"]["post"]
        assert operation["tags"] == ["footprints"]
        assert "requestBody" in operation


def test_an_enterprise_takes_fuel_defaults_and_purchased_heat_from_factor_set_2(client):
    body = {
        "fuels": [{"fuel": "0#柴油", "fuel_type": "diesel", "quantity": "10", "quantity_unit": "t"}],
        "purchased_heat_gj": "250",
    }

    result = post(client, "enterprise", body).get_json()

    factors = packaged()
    diesel = [factors.factors[f"fuel_{p}.diesel.2024"].value for p in ("ncv", "carbon", "oxidation")]
    scope1_kg = Fraction(Decimal(10) * diesel[0] * diesel[1] * diesel[2] * 44000) / 12
    heat_kg = Fraction(Decimal(250) * factors.factors["heat.national.2015"].value * 1000)
    assert result["factor_set_version"] == 2
    assert result["offset_kg"] == ceil(scope1_kg + heat_kg)
    by_category = {item["category"]: item["emissions_kg"] for item in result["categories"]}
    assert Decimal(by_category["scope2_purchased_heat"]) == Decimal(27500)
    assert result["lines"][0]["factor"]["oxidation_rate"]["id"] == "fuel_oxidation.diesel.2024"


def test_a_person_enters_household_natural_gas(client):
    result = post(client, "personal", {"natural_gas_m3": "100"}).get_json()

    # 0.01 x 10^4 Nm3 x 389.31 x 0.0153 x 0.99 x 44 x 1000 / 12 = 216.2188809 kg.
    assert result["offset_kg"] == 217
    assert {item["category"] for item in result["categories"]} >= {"household_natural_gas"}


def statement_body(**changes):
    body = {
        "attendees": 500,
        "days": 2,
        "venue_electricity": [{"kwh": "10000", "grid_region": "sichuan", "grid_year": 2023}],
        "purchased_heat_gj": "5",
        "measured_kg": {"accommodation_catering": "1200.25"},
        "offset_kg": 3315,
        "certificate_ids": ["TH-2026-000123"],
    }
    body.update(changes)
    return body


def test_an_event_statement_sets_the_footprint_against_the_offset(client):
    response = client.post(f"{API}/footprints/event/statement", json=statement_body())

    assert response.status_code == 200, response.get_data(as_text=True)
    statement = response.get_json()
    # 10 000 kWh x 0.1564 = 1 564 kg; 5 GJ x 110 kg = 550 kg; catering 1 200.25 kg: 3 314.25 -> 3 315 kg.
    assert statement["total_kg"] == "3314.25"
    assert statement["footprint_kg"] == 3315
    assert statement["carbon_neutral"] is True
    assert statement["certificate_ids"] == ["TH-2026-000123"]
    assert len(statement["categories"]) == 6
    by_code = {item["category"]: item["emissions_kg"] for item in statement["categories"]}
    assert by_code["purchased_electricity_heat"] == "2114"
    assert "大型活动碳中和实施指南" in statement["guideline"]["zh"]


def test_an_event_statement_one_kilogram_short_is_not_neutral(client):
    statement = client.post(
        f"{API}/footprints/event/statement", json=statement_body(offset_kg=3314)
    ).get_json()

    assert statement["carbon_neutral"] is False
    assert statement["shortfall_kg"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (statement_body(offset_kg=-1), "offset_kg"),
        (statement_body(offset_kg="12"), "offset_kg"),
        (statement_body(offset_kg=12.5), "offset_kg"),
        (statement_body(offset_kg=10**16), "offset_kg"),
        ({k: v for k, v in statement_body().items() if k != "offset_kg"}, "offset_kg"),
        (statement_body(certificate_ids=[""]), "certificate_ids.0"),
        (statement_body(certificate_ids=["C"] * 1001), "certificate_ids"),
        (statement_body(attendees=10**9), "attendees"),
        (statement_body(purchased_heat_gj="-3"), "purchased_heat_gj"),
    ],
)
def test_a_bad_event_statement_request_is_a_400_naming_the_field(client, body, field):
    problem = assert_problem(client.post(f"{API}/footprints/event/statement", json=body), 400)

    assert field in {error["field"] for error in problem["errors"]}, problem


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("personal", {"natural_gas_m3": "-1"}, "natural_gas_m3"),
        ("personal", {"natural_gas_m3": "100000000"}, "natural_gas_m3"),
        ("personal", {"coach_km": "-2"}, "coach_km"),
        ("personal", {"flight_km": 10, "flight_cabin_class": "cargo"}, "flight_cabin_class"),
        ("enterprise", {"purchased_heat_gj": "-1"}, "purchased_heat_gj"),
        ("enterprise", {"purchased_heat_gj": "1e12"}, "purchased_heat_gj"),
        (
            "enterprise",
            {"fuels": [{"fuel": "x", "fuel_type": "Diesel!", "quantity": 1, "quantity_unit": "t"}]},
            "fuels.0.fuel_type",
        ),
        (
            "enterprise",
            {"fuels": [{"fuel": "x", "fuel_type": "diesel", "quantity": "-1", "quantity_unit": "t"}]},
            "fuels.0.quantity",
        ),
        (
            "enterprise",
            {"fuels": [{"fuel": "x", "fuel_type": "diesel", "quantity_unit": "t"}]},
            "fuels.0.quantity",
        ),
        ("event", {"attendees": 10, "days": 1, "coach_passenger_km": "-5"}, "coach_passenger_km"),
    ],
)
def test_bad_values_of_the_new_inputs_are_a_400_naming_the_field(client, kind, body, field):
    problem = assert_problem(post(client, kind, body), 400)

    assert field in {error["field"] for error in problem["errors"]}, problem


def test_a_default_calorific_value_in_the_wrong_unit_is_refused_naming_the_unit(client):
    body = {"fuels": [{"fuel": "天然气", "fuel_type": "natural_gas", "quantity": 1, "quantity_unit": "t"}]}

    assert_problem(post(client, "enterprise", body), 400, "fuels.0.quantity_unit")


def test_the_event_statement_is_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]

    operation = paths["/api/v1/footprints/event/statement"]["post"]
    assert operation["tags"] == ["footprints"]
    assert "requestBody" in operation
