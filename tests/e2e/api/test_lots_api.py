"""Lots via the API: an owner lists its issued credits, the catalogue shows them, none lists another's."""

from __future__ import annotations

import json

import pytest
from api_support import (
    API,
    assert_problem,
    issue,
    ledger,
    register_project,
    submit_report,
    table_counts,
    verify,
)
from sqlalchemy import func, select

from ledger.models import Holding


@pytest.fixture
def issued(owner, reviewer, verifier, admin) -> dict:
    """A registered project in 越西县 (a former poverty county) with one batch issued to its owner."""
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    verify(verifier, report["id"])
    return issue(admin, report["id"])


def lot_body(issued: dict, **changes) -> dict:
    return {
        "lot_id": "L-YX-2024-1",
        "batch_id": issued["batch_id"],
        "quantity_kg": 5_000,
        "price_fen_per_t": 60_000,
    } | changes


def held_by(app, account: str) -> int:
    with ledger(app).database.reading() as session:
        return (
            session.scalar(
                select(func.sum(Holding.end_kg - Holding.start_kg + 1)).where(Holding.account_id == account)
            )
            or 0
        )


def test_an_owner_lists_its_batch_and_the_kilograms_move_into_the_marketplace(app, client, owner, issued):
    owner_before = held_by(app, issued["owner_account"])

    response = owner.post("/lots", lot_body(issued, farmer_share_percent="12.5"))

    assert response.status_code == 201, response.get_json()
    lot = response.get_json()
    assert response.headers["Location"].endswith("/api/v1/lots/L-YX-2024-1")
    assert (lot["batch_id"], lot["listed_kg"], lot["available_kg"]) == (issued["batch_id"], 5_000, 5_000)
    assert lot["price_fen_per_t"] == 60_000
    assert lot["farmer_share_percent"] == "12.50"
    assert lot["poverty_county"] is True
    assert "poverty_counties.csv" in lot["poverty_source"]
    assert lot["status"] == "listed"
    assert held_by(app, "RETAIL") == 5_000
    assert held_by(app, issued["owner_account"]) == owner_before - 5_000
    entry = client.get(f"{API}/ledger/entries/{lot['transfer_seq']}").get_json()
    body = json.loads(entry["body"])
    assert body["kind"] == "transfer"
    assert body["data"]["to"] == "RETAIL", body

    catalogue = client.get(f"{API}/lots").get_json()
    assert [item["id"] for item in catalogue["items"]] == ["L-YX-2024-1"]
    assert client.get(f"{API}/lots/L-YX-2024-1").get_json() == lot


def test_listing_again_with_the_same_key_or_terms_moves_nothing_more(app, owner, issued):
    headers = {"Idempotency-Key": "list-yx-1"}
    first = owner.post("/lots", lot_body(issued), headers=headers)
    replay = owner.post("/lots", lot_body(issued), headers=headers)
    retried = owner.post("/lots", lot_body(issued))

    assert first.status_code == replay.status_code == 201
    assert replay.get_json() == first.get_json()
    assert retried.status_code == 201
    assert held_by(app, "RETAIL") == 5_000


def test_the_registry_lists_any_projects_batch(app, admin, issued):
    assert admin.post("/lots", lot_body(issued)).status_code == 201
    assert held_by(app, "RETAIL") == 5_000


def test_another_owner_cannot_list_a_batch_it_does_not_hold(app, other_owner, issued):
    before = table_counts(app)

    assert_problem(other_owner.post("/lots", lot_body(issued)), 404, "batch_id")

    assert table_counts(app) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity_kg": 0}, "quantity_kg"),
        ({"quantity_kg": -5}, "quantity_kg"),
        ({"quantity_kg": 1.5}, "quantity_kg"),
        ({"quantity_kg": "100"}, "quantity_kg"),
        ({"price_fen_per_t": 0}, "price_fen_per_t"),
        ({"price_fen_per_t": 10.5}, "price_fen_per_t"),
        ({"lot_id": "bad id with spaces"}, "lot_id"),
        ({"lot_id": ""}, "lot_id"),
        ({"farmer_share_percent": "101"}, "farmer_share_percent"),
        ({"farmer_share_percent": "1.234"}, "farmer_share_percent"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_listings_are_refused_naming_the_field_and_change_nothing(app, owner, issued, changes, field):
    before = table_counts(app)

    assert_problem(owner.post("/lots", lot_body(issued, **changes)), 400, field)

    assert table_counts(app) == before


def test_more_than_the_owner_holds_is_refused_and_nothing_moves(app, owner, issued):
    before = table_counts(app)

    response = owner.post("/lots", lot_body(issued, quantity_kg=issued["owner_kg"] + 1))

    assert response.status_code in (409, 422)
    assert response.mimetype == "application/problem+json"
    assert table_counts(app) == before


def test_a_lot_id_reused_with_other_terms_is_a_conflict(app, owner, issued):
    assert owner.post("/lots", lot_body(issued)).status_code == 201

    assert_problem(owner.post("/lots", lot_body(issued, price_fen_per_t=70_000)), 409, "lot_id")


def test_listing_needs_an_owner_or_registry_key(client, verifier, issued):
    assert_problem(client.post(f"{API}/lots", json=lot_body(issued)), 401)
    assert_problem(verifier.post("/lots", lot_body(issued)), 403, "role")


def test_the_catalogue_filters_like_an_orders_sourcing(client, market):
    def ids(query: str) -> list[str]:
        response = client.get(f"{API}/lots?{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("") == ["L-1", "L-2"]
    assert ids("poverty_area_only=true") == ["L-1"]
    assert ids("zone=川中") == ["L-2"]
    assert ids("vintage_from=2022") == []
    assert ids("per_page=1&page=2") == ["L-2"]
    assert_problem(client.get(f"{API}/lots?zone=川东"), 400, "zone")
    assert_problem(client.get(f"{API}/lots?poverty_area_only=yes"), 400, "poverty_area_only")
    assert_problem(client.get(f"{API}/lots?per_page=0"), 400, "per_page")
    assert_problem(client.get(f"{API}/lots?zone=川中&zone=川南"), 400, "zone")
    assert_problem(client.get(f"{API}/lots/L-404"), 404, "lot_id")
