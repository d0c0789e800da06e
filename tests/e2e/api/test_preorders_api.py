"""Ex-ante pre-orders (预售) through the API: listing, pre-ordering within the cap, conversion at issuance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from api_support import (
    API,
    assert_problem,
    issue,
    ledger,
    make_party,
    register_project,
    submit_report,
    verify,
)
from market_support import add_lot
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from ledger.models import Entry
from marketplace.lots import list_lot
from marketplace.models import LotReservation

EXPECTED = (datetime.now(UTC).date() + timedelta(days=120)).isoformat()


@pytest.fixture
def buyer(app, client):
    """An enterprise buyer (the shared ``enterprise`` fixture has the project owner's credit code)."""
    return make_party(app, client, "成都绿色制造有限公司", "enterprise", "enterprise_buyer")


@pytest.fixture
def organiser(app, client):
    return make_party(app, client, "成都马拉松组委会", "organiser", "event_organiser")


@pytest.fixture
def listing(owner, reviewer, admin):
    """LS01 registered, its 2024 vintage listed for pre-order: 30 t at 600 yuan per tonne."""
    project = register_project(owner, reviewer)
    response = admin.post(
        "/preorder-listings",
        {
            "project_id": project["id"],
            "vintage": "2024",
            "cap_kg": 30_000,
            "price_fen_per_t": 60_000,
            "expected_issuance_on": EXPECTED,
        },
    )
    assert response.status_code == 201, response.get_json()
    return project, response.get_json()


def preorder(party_or_client, listing_id: int, quantity_kg: int, kind: str = "enterprise", **changes):
    headers = changes.pop("headers", {})
    body = {
        "kind": kind,
        "quantity_kg": quantity_kg,
        "beneficiary": {"name": "成都绿色制造有限公司"},
        "details": "2025 年度履约",
    } | changes
    path = f"/preorder-listings/{listing_id}/preorders"
    if hasattr(party_or_client, "key"):
        return party_or_client.post(path, body)
    return party_or_client.post(API + path, json=body, headers=headers)


def issued_lot(app, owner, verifier, admin, project, lot_id: str, quantity_kg: int) -> str:
    """Verify and issue LS01's 2020–2024 report, and list ``quantity_kg`` of the batch as ``lot_id``."""
    report = submit_report(owner, project["id"])
    verify(verifier, report["id"])
    issuance = issue(admin, report["id"])
    service = ledger(app)
    with service.database.unit_of_work() as uow:
        list_lot(
            uow.session,
            service.sequencer,
            lot_id=lot_id,
            batch_id=issuance["batch_id"],
            quantity_kg=quantity_kg,
            price_fen_per_t=70_000,
            at=datetime.now(UTC),
        )
        uow.commit()
    return lot_id


def ledger_size(app) -> int:
    with ledger(app).database.reading() as session:
        return session.scalar(select(func.count()).select_from(Entry)) or 0


def test_buyers_pre_order_up_to_the_cap_and_never_beyond(app, client, admin, buyer, organiser, listing):
    _, listed = listing
    size = ledger_size(app)

    first = preorder(buyer, listed["id"], 20_000)
    event = preorder(organiser, listed["id"], 6_000, kind="event", details="2026 成都马拉松")
    individual = preorder(client, listed["id"], 3_500, kind="individual", beneficiary={"name": "王小明"})
    over = preorder(client, listed["id"], 501, kind="individual", beneficiary={"name": "李四"})

    assert [r.status_code for r in (first, event, individual)] == [201, 201, 201]
    problem = assert_problem(over, 409, "quantity_kg")
    assert "500 kg" in problem["detail"]
    assert first.get_json()["price_fen"] == 20 * 60_000
    assert [r.get_json()["position"] for r in (first, event, individual)] == [1, 2, 3]
    mine = individual.get_json()
    assert (mine["state"], mine["transferable"], mine["retirable"]) == ("placed", False, False)
    assert mine["beneficiary"] == {"name": "王小明", "public": False}
    [public] = client.get(f"{API}/preorder-listings").get_json()["items"]
    assert (public["placed_kg"], public["remaining_kg"], public["status"]) == (29_500, 500, "open")
    assert (
        preorder(client, listed["id"], 500, kind="individual", beneficiary={"name": "李四"}).status_code
        == 201
    )
    # Nothing is on the ledger: a pre-order is a claim, not credits.
    assert ledger_size(app) == size


def test_a_pre_order_is_shown_to_its_buyer_and_the_registry_only(
    client, admin, buyer, other_enterprise, listing
):
    _, listed = listing
    placed = preorder(buyer, listed["id"], 1_000).get_json()
    anonymous = preorder(
        client, listed["id"], 10, kind="individual", beneficiary={"name": "王小明"}
    ).get_json()

    assert buyer.get(f"/preorders/{placed['id']}").status_code == 200
    assert admin.get(f"/preorders/{placed['id']}").status_code == 200
    assert_problem(other_enterprise.get(f"/preorders/{placed['id']}"), 404, "preorder_id")
    assert_problem(client.get(f"{API}/preorders/{placed['id']}"), 404, "preorder_id")
    assert client.get(f"{API}/preorders/{anonymous['id']}").get_json()["quantity_kg"] == 10


def test_a_pre_order_cannot_be_paid_transferred_or_retired_as_an_order(client, admin, buyer, listing):
    _, listed = listing
    placed = preorder(buyer, listed["id"], 1_000).get_json()

    paid = admin.post(f"/orders/{placed['id']}/invoice-payment", {"amount_fen": 60_000, "reference": "B-1"})

    assert_problem(paid, 404, "order_id")


def test_conversion_serves_pre_orders_in_placement_order_and_cancels_the_rest(
    app, client, owner, verifier, admin, buyer, organiser, listing
):
    project, listed = listing
    first = preorder(buyer, listed["id"], 20_000).get_json()
    second = preorder(organiser, listed["id"], 6_000, kind="event", details="2026 成都马拉松").get_json()
    third = preorder(client, listed["id"], 10, kind="individual", beneficiary={"name": "王小明"}).get_json()
    lot_id = issued_lot(app, owner, verifier, admin, project, "L-LS01-2024", 25_000)

    converted = admin.post(f"/preorder-listings/{listed['id']}/conversion", {"lot_id": lot_id})

    assert converted.status_code == 201, converted.get_json()
    outcomes = converted.get_json()["outcomes"]
    assert [o["outcome"] for o in outcomes] == ["converted", "cancelled", "cancelled"]
    assert "5000 kg left" in outcomes[1]["cause"]
    order = buyer.get(f"/orders/{outcomes[0]['order_id']}").get_json()
    assert (order["state"], order["quantity_kg"], order["price_fen"]) == (
        "reserved",
        20_000,
        first["price_fen"],
    )
    assert order["allocation"]["holds"] == [{"lot_id": lot_id, "quantity_kg": 20_000}]
    assert order["beneficiary"]["name"] == "成都绿色制造有限公司"
    shown = buyer.get(f"/preorders/{first['id']}").get_json()
    assert (shown["state"], shown["order_id"]) == ("converted", order["id"])
    cancelled = client.get(f"{API}/preorders/{third['id']}").get_json()
    assert (cancelled["state"], cancelled["order_id"]) == ("cancelled", None)
    assert "placement order" in cancelled["cause"]
    assert organiser.get(f"/preorders/{second['id']}").get_json()["state"] == "cancelled"
    # The converted order pays like any other and is fulfilled from the lot.
    paid = admin.post(
        f"/orders/{order['id']}/invoice-payment", {"amount_fen": order["price_fen"], "reference": "P-1"}
    )
    assert paid.get_json()["state"] == "fulfilled"
    # Converting again with the same lot changes nothing; with another lot it is refused.
    again = admin.post(f"/preorder-listings/{listed['id']}/conversion", {"lot_id": lot_id})
    assert again.status_code == 200
    assert again.get_json()["outcomes"] == outcomes
    assert_problem(
        admin.post(f"/preorder-listings/{listed['id']}/conversion", {"lot_id": "L-2"}), 409, "lot_id"
    )
    assert_problem(preorder(buyer, listed["id"], 1), 409, "listing_id")
    listing_now = client.get(f"{API}/preorder-listings").get_json()["items"][0]
    assert (listing_now["status"], listing_now["conversion"]["lot_id"]) == ("converted", lot_id)
    ledger(app).sign_checkpoint()
    ledger(app).verify()


def test_conversion_is_refused_for_a_lot_of_another_project_and_writes_nothing(app, admin, buyer, listing):
    _, listed = listing
    preorder(buyer, listed["id"], 1_000)
    add_lot(app, "L-2", "JJ01", "510104", "川中", 10_000, 80_000)

    refused = admin.post(f"/preorder-listings/{listed['id']}/conversion", {"lot_id": "L-2"})

    assert_problem(refused, 409, "lot_id")
    with ledger(app).database.reading() as session:
        assert session.scalar(select(func.count()).select_from(LotReservation)) == 0
    assert_problem(
        admin.post(f"/preorder-listings/{listed['id']}/conversion", {"lot_id": "L-X"}), 404, "lot_id"
    )


def test_listing_and_converting_are_the_registrys_and_buyers_need_their_own_role(
    client, owner, buyer, organiser, listing
):
    project, listed = listing
    body = {
        "project_id": project["id"],
        "vintage": "2025",
        "cap_kg": 1,
        "price_fen_per_t": 1,
        "expected_issuance_on": EXPECTED,
    }
    assert_problem(owner.post("/preorder-listings", body), 403, "role")
    assert_problem(client.post(f"{API}/preorder-listings", json=body), 401, "Authorization")
    assert_problem(buyer.post(f"/preorder-listings/{listed['id']}/conversion", {"lot_id": "L"}), 403, "role")
    assert_problem(preorder(buyer, listed["id"], 10, kind="event", details="x"), 403, "role")
    assert_problem(preorder(client, listed["id"], 10), 401, "Authorization")
    assert_problem(preorder(client, 999, 10, kind="individual"), 404, "listing_id")
    assert_problem(preorder(buyer, listed["id"], 0), 400, "quantity_kg")


def test_a_listing_needs_a_registered_project_and_a_future_date(admin, listing):
    project, _ = listing
    body = {
        "project_id": project["id"],
        "vintage": "2025",
        "cap_kg": 1_000,
        "price_fen_per_t": 50_000,
        "expected_issuance_on": "2000-01-01",
    }
    assert_problem(admin.post("/preorder-listings", body), 422, "expected_issuance_on")
    assert_problem(
        admin.post("/preorder-listings", body | {"project_id": 999, "expected_issuance_on": EXPECTED}), 404
    )


def test_an_anonymous_pre_order_with_the_same_idempotency_key_is_placed_once(client, listing):
    _, listed = listing
    headers = {"Idempotency-Key": "micro-sink-2024-0001"}
    first = preorder(
        client, listed["id"], 12, kind="individual", beneficiary={"name": "王小明"}, headers=headers
    )
    again = preorder(
        client, listed["id"], 12, kind="individual", beneficiary={"name": "王小明"}, headers=headers
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert client.get(f"{API}/preorder-listings").get_json()["items"][0]["placed_kg"] == 12


@pytest.mark.parametrize(
    "statement", ["UPDATE preorders SET quantity_kg = 1", "DELETE FROM preorder_listings"]
)
def test_listings_and_pre_orders_are_append_only(app, buyer, listing, statement):
    _, listed = listing
    preorder(buyer, listed["id"], 1_000)

    with ledger(app).database.unit_of_work() as uow, pytest.raises(DatabaseError, match="append-only"):
        uow.session.execute(text(statement))
