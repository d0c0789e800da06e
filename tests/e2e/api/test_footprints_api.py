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
    grid = factors.factors["grid.sichuan.2022"].value
    flight = factors.factors["transport.civil_aviation.2019"].value
    expected = Decimal(2400) * grid + Decimal(1800) * flight / 1000
    assert Decimal(result["total_kg"]) == expected
    assert result["offset_kg"] == ceil(expected)
    assert result["factor_set_version"] == factors.version
    by_category = {item["category"]: item["emissions_kg"] for item in result["categories"]}
    assert Decimal(by_category["household_electricity"]) == Decimal(2400) * grid
    assert result["lines"][0]["factor"]["id"] == "grid.sichuan.2022"


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
        ("personal", {"natural_gas_m3": "120"}, "natural_gas_m3"),
        ("personal", {"car_km": "5000"}, "car_km"),
        ("personal", {"car_fuel_l": "300"}, "car_fuel_l"),
        ("personal", {"electricity_kwh": 100, "grid_region": "sichuan", "grid_year": 2023}, "grid_region"),
        ("personal", {"electricity_kwh": 100, "grid_region": "atlantis"}, "grid_region"),
        ("enterprise", {"purchased_heat_gj": "10"}, "purchased_heat_gj"),
        (
            "enterprise",
            {"compliance_tonnage_t": 5, "electricity": [{"kwh": 1, "grid_region": "national"}]},
            "compliance_tonnage_t",
        ),
        ("event", {"attendees": 10, "days": 1, "purchased_heat_gj": 1}, "purchased_heat_gj"),
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
