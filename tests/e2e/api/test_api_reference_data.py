"""Organisations, methodologies, regions and the OpenAPI document, as the public and the registry see them."""

from __future__ import annotations

import re

import pytest
from api_support import API, OWNER_CREDIT_CODE, assert_problem, report_inputs, table_counts

# --- organisations ---------------------------------------------------------------------------------------


def test_the_registry_registers_an_organisation_that_anyone_can_look_up(client, admin):
    response = admin.post("/organisations", {"name": "雅安市林业投资公司", "kind": "project_owner"})

    assert response.status_code == 201
    created = response.get_json()
    assert created["ledger_account_id"] == f"ORG-{created['id']:06d}"
    assert client.get(response.headers["Location"]).get_json() == created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "甲", "kind": "project_owner", "credit_code": "91510100MA6CGUGA1X"}, "credit_code"),
        ({"name": "", "kind": "project_owner"}, "name"),
        ({"name": "甲", "kind": "bank"}, "kind"),
    ],
)
def test_a_bad_organisation_is_400_naming_the_field(app, admin, body, field):
    before = table_counts(app)

    assert_problem(admin.post("/organisations", body), 400, field)
    assert table_counts(app) == before


def test_a_credit_code_is_registered_once(admin, owner):
    body = {"name": "同码公司", "kind": "project_owner", "credit_code": OWNER_CREDIT_CODE}

    assert_problem(admin.post("/organisations", body), 409, "credit_code")


def test_an_unknown_organisation_is_404(client):
    assert_problem(client.get(f"{API}/organisations/4242"), 404, "organisation_id")


# --- methodologies ---------------------------------------------------------------------------------------


def test_the_methodologies_are_listed_with_their_project_types(client):
    items = client.get(f"{API}/methodologies").get_json()["items"]

    by_id = {item["id"]: item for item in items}
    assert by_id["AR-CM-001-V01"]["project_types"] == ["afforestation"]
    assert by_id["AR-CM-003-V01"]["project_types"] == ["forest_management"]
    assert all(item["source"] for item in items)


def test_a_methodology_describes_its_inputs(client):
    methodology = client.get(f"{API}/methodologies/AR-CM-001-V01").get_json()

    assert "strata" in methodology["inputs"]["properties"]
    assert methodology["title_zh"] == "碳汇造林项目方法学"


def test_a_methodology_publishes_the_rules_it_applies_and_where_each_was_looked_for(client):
    rules = client.get(f"{API}/methodologies/AR-CM-001-V01").get_json()["rules"]

    # The methodology fixes leakage at zero, as quoted in the source the data file cites.
    leakage = rules["leakage"]
    assert (leakage["applied"], leakage["rule_of"], leakage["value_t_co2e"]) == (
        "fixed",
        "AR-CM-001-V01",
        "0",
    )
    [read] = leakage["consulted"]
    assert read["found"]
    assert "https://www.sanwenwang.com/ba/ccfzlfqf.html" in read["citation"]
    # Its own uncertainty rule was not found; the CDM tool's discount table is applied, and says so.
    uncertainty = rules["uncertainty"]
    assert (uncertainty["applied"], uncertainty["rule_of"]) == ("discount_table", "CDM-AR-TOOL14")
    own, tool = uncertainty["consulted"]
    assert (own["rules_of"], own["found"], own["citation"]) == ("AR-CM-001-V01", False, "")
    assert "NOT established as the CCER rule" in own["note"]
    assert (tool["rules_of"], tool["found"]) == ("CDM-AR-TOOL14", True)
    assert "AR-TOOL14" in tool["citation"]

    wetland = client.get(f"{API}/methodologies/TANHUI-WETLAND-STOCK-V01").get_json()["rules"]
    assert wetland["leakage"] == {
        "applied": "stated_in_report",
        "rule_of": None,
        "value_t_co2e": None,
        "consulted": [],
    }
    assert (wetland["uncertainty"]["applied"], wetland["uncertainty"]["rule_of"]) == (
        "allowable_excess",
        "VM0033",
    )


def test_an_unknown_methodology_is_404(client):
    assert_problem(client.get(f"{API}/methodologies/AR-CM-999"), 404, "methodology_id")


def test_a_dry_run_calculation_needs_no_key_and_records_nothing(app, client):
    before = table_counts(app)

    response = client.post(f"{API}/methodologies/AR-CM-001-V01/calculate", json={"inputs": report_inputs()})

    assert response.status_code == 200
    calculation = response.get_json()
    assert calculation["net_removals_kg"] > 0
    assert re.fullmatch(r"\d+\.\d+", calculation["net_removals_t"])
    assert calculation["terms"][0]["formula"]
    assert table_counts(app) == before


def test_a_dry_run_refuses_a_float_naming_the_input(client):
    inputs = report_inputs()
    inputs["strata"][0]["volume_end_m3_per_ha"] = 60.0

    response = client.post(f"{API}/methodologies/AR-CM-001-V01/calculate", json={"inputs": inputs})

    problem = assert_problem(response, 400, "inputs.strata.0.volume_end_m3_per_ha")
    assert "float" in problem["detail"]


# --- regions ---------------------------------------------------------------------------------------------


def test_the_five_zones_carry_the_plans_focus_types(client):
    response = client.get(f"{API}/regions/zones")

    zones = {zone["key"]: zone for zone in response.get_json()["items"]}
    assert set(zones) == {"川西南", "川西北", "川东北", "川南", "川中"}
    assert zones["川南"]["priority_types"] == ["bamboo_afforestation", "bamboo_management"]
    assert zones["川中"]["exploratory_types"] == ["urban_forest"]
    assert all(zone["source"] for zone in zones.values())
    assert response.get_json()["project_types"]["bamboo_management"] == "竹林经营"


def test_the_counties_of_a_prefecture_come_with_their_poverty_status_and_its_source(client):
    counties = client.get(f"{API}/regions/counties?prefecture=513400").get_json()["items"]

    by_name = {county["name"]: county for county in counties}
    assert by_name["越西县"]["code"] == "513434"
    assert by_name["越西县"]["zone"] == "川西南"
    assert by_name["越西县"]["poverty"]["category"] == "national"
    assert by_name["越西县"]["poverty"]["exit_year"] == 2020
    assert by_name["越西县"]["poverty"]["source"]
    assert all(county["prefecture_code"] == "513400" for county in counties)


def test_without_a_prefecture_every_county_is_listed(client):
    counties = client.get(f"{API}/regions/counties").get_json()["items"]

    assert len(counties) > 150
    assert {county["zone"] for county in counties} == {"川西南", "川西北", "川东北", "川南", "川中"}


@pytest.mark.parametrize("prefecture", ["513434", "519900", "abc", "5134"])
def test_a_prefecture_that_is_not_one_is_400(client, prefecture):
    assert_problem(client.get(f"{API}/regions/counties?prefecture={prefecture}"), 400, "prefecture")


# --- the OpenAPI document --------------------------------------------------------------------------------


def test_every_api_route_is_in_the_openapi_document_with_its_roles(app, client):
    document = client.get(f"{API}/openapi.json").get_json()
    documented = {
        (path, method.upper()) for path, operations in document["paths"].items() for method in operations
    }
    routes = {
        (re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API) and rule.rule != f"{API}/openapi.json"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }

    assert routes <= documented, routes - documented
    issuance = document["paths"][f"{API}/monitoring-reports/{{report_id}}/issuance"]["post"]
    assert issuance["security"] == [{"apiKey": []}]
    assert "registry_admin" in issuance["description"]
    create = document["paths"][f"{API}/projects"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("ProjectCreate")
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


# --- problems from routing ---------------------------------------------------------------------------------


def test_an_unknown_path_and_a_wrong_method_are_problems_titled_as_the_domain_s_are(client):
    unknown = assert_problem(client.get(f"{API}/no-such-resource"), 404)
    assert unknown["type"].endswith("/not-found")
    domain = assert_problem(client.get(f"{API}/methodologies/AR-CM-999"), 404, "methodology_id")
    # One type, one title (RFC 9457 §3.1.3), whether routing or the domain found nothing.
    assert (unknown["type"], unknown["title"]) == (domain["type"], domain["title"])

    wrong_method = client.delete(f"{API}/methodologies")
    assert wrong_method.status_code == 405
    assert wrong_method.mimetype == "application/problem+json"
    assert wrong_method.get_json()["title"] == "Method Not Allowed"
