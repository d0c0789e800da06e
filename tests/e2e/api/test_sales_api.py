"""Sales per lot and county, farmer-share payouts and the public poverty-area summary, through the API:
orders bought and paid by invoice, figures for the registry only (JSON and CSV), payouts refused beyond
what is owed and honouring Idempotency-Key, and a public summary that names no buyer."""

from __future__ import annotations

import re

import pytest
from api_support import API, assert_problem
from sales_api_support import add_shared_lots, buy_enterprise, buy_individual, read_csv


@pytest.fixture
def sold(app, client, admin, enterprise):
    """12 kg of L-A to an individual (600 fen), 2,000 kg of L-B to an enterprise (160,000 fen), both paid;
    an unpaid enterprise order of 5 kg that does not count."""
    add_shared_lots(app)
    buy_individual(client, admin, 12, zone="川西南")
    buy_enterprise(enterprise, admin, 2_000, zone="川中")
    buy_enterprise(enterprise, None, 5, zone="川中")
    return app


def payout_body(amount_fen: int, **changes):
    return {
        "amount_fen": amount_fen,
        "paid_at": "2026-11-27T08:00:00+08:00",
        "recipient_kind": "collective",
        "recipient": "锦江区三圣街道村集体",
        "reference": "ICBC-20261127-001",
    } | changes


def test_the_registry_sees_sales_per_lot_with_the_farmer_share_owed(sold, admin):
    response = admin.get("/sales/lots")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    lots = {item["lot_id"]: item for item in body["items"]}
    assert (lots["L-A"]["sold_kg"], lots["L-A"]["revenue_fen"], lots["L-A"]["farmer_share_owed_fen"]) == (
        12,
        600,
        180,
    )
    assert lots["L-A"]["poverty_county"] is True
    assert lots["L-A"]["county_name"] == "盐源县"
    assert (lots["L-B"]["sold_kg"], lots["L-B"]["sold_t"], lots["L-B"]["revenue_fen"]) == (
        2_000,
        "2.000",
        160_000,
    )
    assert lots["L-B"]["farmer_share_owed_fen"] == 20_000  # 12.5 % of 160,000 fen
    assert lots["L-B"]["orders"] == 1  # the unpaid order does not count
    assert body["totals"]["revenue_fen"] == 160_600
    assert body["totals"]["farmer_share_outstanding_fen"] == 20_180
    assert "rounded up" in body["rounding"]


def test_sales_per_county_add_up_their_lots(sold, reviewer):
    body = reviewer.get("/sales/counties").get_json()
    counties = {item["county_code"]: item for item in body["items"]}
    assert sorted(counties) == ["510104", "513423"]
    assert counties["513423"]["poverty_county"] is True
    assert (counties["510104"]["county_name"], counties["510104"]["revenue_fen"]) == ("锦江区", 160_000)
    assert body["totals"]["sold_kg"] == 2_012


@pytest.mark.parametrize("how", [{"query_string": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}])
def test_sales_come_as_spreadsheet_safe_csv_on_request(sold, admin, how):
    rows = read_csv(admin.get("/sales/lots", **how))
    assert [row["lot_id"] for row in rows] == ["L-A", "L-B"]
    assert rows[1]["farmer_share_percent"] == "12.50"
    assert rows[1]["farmer_share_owed_fen"] == "20000"
    counties = read_csv(admin.get("/sales/counties", **how))
    assert [row["county_name"] for row in counties] == ["锦江区", "盐源县"]


def test_json_is_answered_when_the_client_prefers_it_and_csv_is_a_named_download(sold, admin):
    preferred = admin.get("/sales/lots", headers={"Accept": "text/csv;q=0.5, application/json"})
    assert preferred.mimetype == "application/json"
    assert [item["lot_id"] for item in preferred.get_json()["items"]] == ["L-A", "L-B"]
    download = admin.get("/sales/counties", headers={"Accept": "application/json;q=0.5, text/csv"})
    assert download.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="tanhui-sales-counties-\d{8}\.csv"', download.headers["Content-Disposition"]
    )


def test_an_unknown_format_is_a_bad_request(sold, admin):
    assert_problem(admin.get("/sales/lots?format=xlsx"), 400, "format")


def test_sales_are_the_registrys_only(sold, client, enterprise, verifier):
    for path in ("/sales/lots", "/sales/counties", "/lots/L-A/payouts"):
        assert_problem(enterprise.get(path), 403, "role")
        assert_problem(verifier.get(path), 403, "role")
        assert_problem(client.get(API + path), 401, "Authorization")


def test_a_payout_is_recorded_once_per_idempotency_key_and_never_beyond_what_is_owed(sold, admin):
    key = {"Idempotency-Key": "payout-L-B-1"}
    first = admin.post("/lots/L-B/payouts", payout_body(15_000), headers=key)
    assert first.status_code == 201, first.get_json()
    recorded = first.get_json()
    assert (recorded["amount_fen"], recorded["lot_id"], recorded["corrects_payout_id"]) == (
        15_000,
        "L-B",
        None,
    )
    assert recorded["paid_at"] == "2026-11-27T00:00:00+00:00"
    assert first.headers["Location"].endswith("/api/v1/lots/L-B/payouts")
    again = admin.post("/lots/L-B/payouts", payout_body(15_000), headers=key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == recorded["id"]

    refused = admin.post(
        "/lots/L-B/payouts", payout_body(5_001, reference="ICBC-002"), headers={"Idempotency-Key": "p-2"}
    )
    problem = assert_problem(refused, 409, "amount_fen")
    assert "at most 5000 fen" in problem["detail"]

    correction = admin.post(
        "/lots/L-B/payouts",
        payout_body(1_000, reference="ICBC-REV-1", corrects_payout_id=recorded["id"]),
        headers={"Idempotency-Key": "p-3"},
    )
    assert correction.status_code == 201, correction.get_json()
    assert correction.get_json()["amount_fen"] == -1_000

    listed = admin.get("/lots/L-B/payouts").get_json()
    assert [item["amount_fen"] for item in listed["payouts"]] == [15_000, -1_000]
    assert (listed["farmer_share_owed_fen"], listed["farmer_share_paid_fen"]) == (20_000, 14_000)
    assert listed["farmer_share_outstanding_fen"] == 6_000
    sales = admin.get("/sales/lots").get_json()
    assert sales["items"][1]["farmer_share_paid_fen"] == 14_000
    # Owed 180 (L-A) + 20,000 (L-B), paid 14,000.
    assert sales["totals"] == {
        "sold_kg": 2_012,
        "sold_t": "2.012",
        "revenue_fen": 160_600,
        "farmer_share_owed_fen": 20_180,
        "farmer_share_paid_fen": 14_000,
        "farmer_share_outstanding_fen": 6_180,
    }


def test_a_payout_needs_an_idempotency_key_the_admin_role_and_valid_terms(sold, admin, reviewer, enterprise):
    assert_problem(admin.post("/lots/L-A/payouts", payout_body(10)), 400, "Idempotency-Key")
    key = {"Idempotency-Key": "k-1"}
    assert_problem(reviewer.post("/lots/L-A/payouts", payout_body(10), headers=key), 403, "role")
    assert_problem(enterprise.post("/lots/L-A/payouts", payout_body(10), headers=key), 403, "role")
    assert_problem(admin.post("/lots/L-A/payouts", payout_body(0), headers=key), 400, "amount_fen")
    assert_problem(
        admin.post("/lots/L-A/payouts", payout_body(10, paid_at="2026-11-27T08:00:00"), headers=key),
        400,
        "paid_at",
    )
    assert_problem(
        admin.post("/lots/L-A/payouts", payout_body(10, recipient_kind="bank"), headers=key),
        400,
        "recipient_kind",
    )
    assert_problem(admin.post("/lots/L-NONE/payouts", payout_body(10), headers=key), 404, "lot_id")
    assert_problem(admin.get("/lots/L-NONE/payouts"), 404, "lot_id")
    assert admin.get("/lots/L-A/payouts").get_json()["payouts"] == []


def test_the_public_summary_needs_no_key_and_names_no_buyer(sold, client):
    response = client.get(f"{API}/public/poverty-summary")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"]["sold_kg"] == 2_012
    assert body["total"]["poverty_area_kg"] == 12
    assert body["total"]["poverty_area_kg_percent"] == "0.60"
    assert body["total"]["poverty_area_revenue_fen"] == 600
    assert body["total"]["poverty_area_revenue_percent"] == "0.37"  # 600 of 160,600 fen
    zones = {zone["zone"]: zone for zone in body["by_zone"]}
    assert len(zones) == 5
    assert zones["川西南"]["poverty_area_kg_percent"] == "100.00"
    assert zones["川中"]["revenue_fen"] == 160_000
    text = response.get_data(as_text=True)
    for name in ("王小明", "小王", "成都绿色制造有限公司", "企业"):
        assert name not in text


def test_the_sales_endpoints_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    for path in ("/api/v1/sales/lots", "/api/v1/sales/counties", "/api/v1/public/poverty-summary"):
        assert "get" in paths[path]
    assert {"get", "post"} <= set(paths["/api/v1/lots/{lot_id}/payouts"])
