"""The first buyer journeys through the API: an individual's micro-sink order paid by invoice, retired in
their name with a certificate that verifies offline; an enterprise's order transferred to its account;
replayed payments, expiry, late payments, other organisations and bad input."""

from __future__ import annotations

import json
import time

import pytest
from api_support import API, ledger
from flask import Flask
from market_support import individual_order, pay, retail_kg
from sqlalchemy import func, select
from tests_support import ORIGIN

from ledger import limits
from ledger.certificate_check import CertificateInvalid, verify_certificate
from ledger.models import Holding
from ledger.note import NoteVerifier
from offsets.models import Organisation
from web.scheduler import expire_reservations_job


def expire_now(app: Flask) -> list[str]:
    """Let one-second reservations lapse, then run the scheduler's expiry job at the real time."""
    time.sleep(1.1)
    return expire_reservations_job(ledger(app))


@pytest.fixture
def short_ttl(market: Flask) -> Flask:
    market.config["TANHUI_RESERVATION_TTL_S"] = 1
    return market


def account_kg(app: Flask, account: str) -> int:
    with ledger(app).database.reading() as session:
        return (
            session.scalar(
                select(func.sum(Holding.end_kg - Holding.start_kg + 1)).where(Holding.account_id == account)
            )
            or 0
        )


def test_an_individual_buys_12_kg_pays_by_invoice_and_gets_a_certificate_that_verifies_offline(
    market, client, admin
):
    placed = individual_order(client)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    assert order["state"] == "reserved"
    assert order["allocation"]["holds"] == [{"lot_id": "L-1", "quantity_kg": 12}]
    assert any("poverty-area lots first" in line for line in order["allocation"]["explanation"])
    assert order["price_fen"] == 600  # 12 kg at 50,000 fen per tonne
    assert order["beneficiary"] == {"name": "王小明", "public": False}
    assert order["gift"] is None  # for the buyer's own footprint, not a gift
    explanation = order["allocation"]["explanation"]
    assert len(explanation) >= 2
    assert all(line and "\n" not in line for line in explanation), explanation
    assert order["allocation"]["expires_at"] is not None
    # An anonymous buyer's order is found where the answer says, by its opaque id.
    assert placed.headers["Location"].endswith(f"/api/v1/orders/{order['id']}")

    paid = pay(admin, order)
    assert paid.status_code == 200, paid.get_json()
    fulfilled = paid.get_json()
    assert fulfilled["state"] == "fulfilled"
    assert [event["target"] for event in fulfilled["events"]] == ["reserved", "paid", "fulfilled"]
    assert fulfilled["allocation"]["holds_stock"] is False
    assert retail_kg(market) == 20_000 - 12

    # The order is visible by its opaque id alone.
    assert client.get(f"{API}/orders/{order['id']}").get_json()["state"] == "fulfilled"

    response = client.get(f"{API}/certificates/{fulfilled['certificate_id']}")
    assert response.status_code == 200
    certificate = response.get_json()
    assert certificate["quantity_kg"] == 12
    assert certificate["reason"] == "personal_footprint"
    assert certificate["beneficiary"]["name"] == "王小明"
    assert certificate["beneficiary"]["public"] is False
    assert certificate["counties"] == ["513423"]
    assert certificate["poverty_area_share_percent"] == "100.00"
    assert certificate["price_fen"] == 600
    assert [r["serial"] for r in certificate["ranges"]] == [certificate["ranges"][0]["serial"]]

    vkey = client.get(f"{API}/ledger/key").get_data(as_text=True).strip()
    proven = verify_certificate(certificate, [NoteVerifier.from_vkey(vkey)], ORIGIN)
    assert proven.beneficiary_name == "王小明"
    assert proven.quantity_kg == 12
    # The entry body holds only the commitment: a wrong name does not verify.
    forged = certificate | {"beneficiary": certificate["beneficiary"] | {"name": "李四"}}
    with pytest.raises(CertificateInvalid):
        verify_certificate(forged, [NoteVerifier.from_vkey(vkey)], ORIGIN)

    download = client.get(f"{API}/certificates/{fulfilled['certificate_id']}.tlog-proof")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert (
        verify_certificate(download.get_data(), [NoteVerifier.from_vkey(vkey)], ORIGIN).seq
        == certificate["seq"]
    )

    assert ledger(market).verify().size >= 5


def test_an_order_needing_more_lots_than_one_order_may_hold_is_a_too_many_lots_problem(
    market, client, monkeypatch
):
    monkeypatch.setattr(limits, "MAX_RANGES_PER_ENTRY", 1)
    response = individual_order(client, quantity_kg=10_005, sourcing={})
    problem = response.get_json()
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert problem["type"].endswith("/too-many-lots")
    assert problem["field"] == "quantity_kg"
    assert "more than 1 lots" in problem["detail"]
    assert individual_order(client, quantity_kg=10_000, sourcing={}).status_code == 201  # one lot's worth


def test_a_public_individual_beneficiary_is_named_in_the_entry(market, client, admin):
    order = individual_order(client, beneficiary={"name": "王小明", "public": True}).get_json()
    certificate_id = pay(admin, order).get_json()["certificate_id"]
    certificate = client.get(f"{API}/certificates/{certificate_id}").get_json()
    assert certificate["beneficiary"] == {"name": "王小明", "public": True}
    vkey = client.get(f"{API}/ledger/key").get_data(as_text=True).strip()
    assert (
        verify_certificate(certificate, [NoteVerifier.from_vkey(vkey)], ORIGIN).beneficiary_name == "王小明"
    )


def test_an_order_across_two_lots_retires_exactly_what_each_lot_held(market, client, admin):
    order = individual_order(client, quantity_kg=10_005, sourcing={}).get_json()
    assert order["allocation"]["holds"] == [
        {"lot_id": "L-1", "quantity_kg": 10_000},
        {"lot_id": "L-2", "quantity_kg": 5},
    ]
    assert order["price_fen"] == 500_000 + 400
    certificate_id = pay(admin, order).get_json()["certificate_id"]
    certificate = client.get(f"{API}/certificates/{certificate_id}").get_json()
    assert certificate["counties"] == ["510104", "513423"]
    assert certificate["poverty_area_kg"] == 10_000
    assert certificate["poverty_area_share_percent"] == "99.95"
    assert ledger(market).verify().size >= 5


def test_the_enterprise_journey_lands_the_credits_in_its_ledger_account(market, client, admin, enterprise):
    body = {
        "kind": "enterprise",
        "quantity_kg": 2_000,
        "beneficiary": {"name": "成都绿色制造有限公司"},
        "details": "2025 年度履约",
        "sourcing": {"zone": "川中"},
    }
    placed = enterprise.post("/orders", body, headers={"Idempotency-Key": "ent-order-1"})
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    again = enterprise.post("/orders", body, headers={"Idempotency-Key": "ent-order-1"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == order["id"]
    assert order["allocation"]["holds"] == [{"lot_id": "L-2", "quantity_kg": 2_000}]
    assert order["price_fen"] == 160_000

    fulfilled = pay(admin, order).get_json()
    assert fulfilled["state"] == "fulfilled"
    assert fulfilled["certificate_id"] is None  # a transfer, not a retirement
    with ledger(market).database.reading() as session:
        account = session.scalar(
            select(Organisation.ledger_account_id).where(Organisation.id == enterprise.organisation_id)
        )
    assert account_kg(market, account) == 2_000
    assert enterprise.get(f"/orders/{order['id']}").status_code == 200
    assert ledger(market).verify().size >= 5


def test_an_order_across_lots_takes_retails_serials_not_those_a_buyer_already_holds(
    market, client, admin, enterprise
):
    """An enterprise's purchase moved L-2's lowest serials into its own account; the next order over two
    lots must name what RETAIL holds of L-2's batch, not the lowest serials of the batch anyone holds."""
    body = {
        "kind": "enterprise",
        "quantity_kg": 2_000,
        "beneficiary": {"name": "成都绿色制造有限公司"},
        "details": "2025 年度履约",
    }
    bought = enterprise.post("/orders", body | {"sourcing": {"zone": "川中"}}).get_json()
    assert pay(admin, bought).get_json()["state"] == "fulfilled"

    order = individual_order(client, quantity_kg=10_005, sourcing={}).get_json()
    assert [hold["quantity_kg"] for hold in order["allocation"]["holds"]] == [10_000, 5]
    paid = pay(admin, order, reference="BANK-0002").get_json()

    assert paid["state"] == "fulfilled", paid["events"][-1]
    certificate = client.get(f"{API}/certificates/{paid['certificate_id']}").get_json()
    ranges = json.loads(certificate["proof"]["body"])["data"]["ranges"]
    assert [(item["start"], item["end"]) for item in ranges] == [(1, 10_000), (2_001, 2_005)]
    assert ledger(market).verify().size >= 6


def test_a_replayed_invoice_payment_changes_nothing(market, client, admin):
    order = individual_order(client).get_json()
    first = pay(admin, order).get_json()
    size = ledger(market).size()
    replay = pay(admin, order)
    assert replay.status_code == 200
    assert replay.get_json() == first
    assert ledger(market).size() == size
    assert retail_kg(market) == 20_000 - 12
    # A different payment for the fulfilled order is refused, to be refunded at the bank.
    second = pay(admin, order, reference="BANK-0002")
    assert second.status_code == 409
    assert second.get_json()["field"] == "provider_event_id"


def test_expiry_releases_the_stock(market, short_ttl, client, admin):
    order = individual_order(client, quantity_kg=10_000, sourcing={"poverty_area_only": True}).get_json()
    assert individual_order(client, quantity_kg=1, sourcing={"poverty_area_only": True}).status_code == 409
    expired = expire_now(market)
    assert expired == [order["id"]]
    shown = client.get(f"{API}/orders/{order['id']}").get_json()
    assert shown["state"] == "expired"
    assert shown["events"][-1]["cause"] == "reservation_expired"
    assert individual_order(client, quantity_kg=1, sourcing={"poverty_area_only": True}).status_code == 201


def test_a_payment_after_expiry_is_re_reserved_when_stock_allows(market, short_ttl, client, admin):
    order = individual_order(client).get_json()
    expire_now(market)
    paid = pay(admin, order).get_json()
    assert paid["state"] == "fulfilled"
    assert [event["cause"] for event in paid["events"]] == [
        "reserve",
        "reservation_expired",
        "re_reserved_after_late_payment",
        "payment_succeeded",
        "fulfil",
    ]
    assert paid["certificate_id"] is not None


def test_a_late_payment_re_reserves_a_whole_lot_while_nobody_else_took_any(market, short_ttl, client, admin):
    order = individual_order(client, quantity_kg=10_000, sourcing={"poverty_area_only": True}).get_json()
    expire_now(market)
    paid = pay(admin, order).get_json()
    assert paid["state"] == "fulfilled"
    assert "re_reserved_after_late_payment" in [event["cause"] for event in paid["events"]]


def test_a_payment_after_expiry_is_refunded_when_the_stock_is_gone(market, short_ttl, client, admin):
    order = individual_order(client, quantity_kg=10_000, sourcing={"poverty_area_only": True}).get_json()
    expire_now(market)
    rival = individual_order(client, quantity_kg=10_000, sourcing={"poverty_area_only": True})
    assert rival.status_code == 201
    size = ledger(market).size()
    refunded = pay(admin, order).get_json()
    assert refunded["state"] == "refunded"
    assert refunded["paid_fen"] == refunded["refunded_fen"] == order["price_fen"]
    assert ledger(market).size() == size


def test_a_payment_after_expiry_is_refunded_when_the_lot_was_suspended_meanwhile(
    market, short_ttl, client, admin
):
    order = individual_order(client).get_json()
    [hold] = order["allocation"]["holds"]
    expire_now(market)
    assert admin.post(f"/lots/{hold['lot_id']}/suspension", {"reason": "权属争议待核实"}).status_code == 201
    size = ledger(market).size()

    refunded = pay(admin, order).get_json()

    assert refunded["state"] == "refunded"
    assert refunded["events"][-1]["cause"] != "re_reserved_after_late_payment"
    assert ledger(market).size() == size


def test_another_organisation_can_neither_see_nor_pay_an_enterprises_order(
    market, client, admin, enterprise, other_enterprise
):
    body = {
        "kind": "enterprise",
        "quantity_kg": 100,
        "beneficiary": {"name": "甲"},
        "details": "2025 年度履约",
    }
    order = enterprise.post("/orders", body).get_json()
    assert other_enterprise.get(f"/orders/{order['id']}").status_code == 404
    assert client.get(f"{API}/orders/{order['id']}").status_code == 404
    refused = other_enterprise.post(
        f"/orders/{order['id']}/invoice-payment", {"amount_fen": order["price_fen"], "reference": "X-1"}
    )
    assert refused.status_code == 403
    assert refused.get_json()["field"] == "role"
    # An enterprise order needs an enterprise key.
    anonymous = client.post(f"{API}/orders", json=body)
    assert anonymous.status_code == 401
    assert enterprise.get(f"/orders/{order['id']}").get_json()["state"] == "reserved"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity_kg": 0}, "quantity_kg"),
        ({"quantity_kg": 1.5}, "quantity_kg"),
        ({"kind": "company"}, "kind"),
        ({"beneficiary": {}}, "beneficiary.name"),
        ({"sourcing": {"zone": "川东"}}, "sourcing.zone"),
        ({"quantity_kg": 10**9}, "quantity_kg"),
    ],
)
def test_bad_input_names_the_field(market, client, changes, field):
    response = individual_order(client, **changes)
    assert response.status_code in (400, 409, 422), response.get_json()
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.get_json()["field"] == field


def test_a_payment_of_the_wrong_amount_names_the_field(market, client, admin):
    order = individual_order(client).get_json()
    response = pay(admin, order, amount_fen=1)
    assert response.status_code == 422
    assert response.get_json()["field"] == "amount_fen"


def test_an_anonymous_order_with_an_idempotency_key_is_placed_once(market, client):
    headers = {"Idempotency-Key": "anon-1"}
    body = {"kind": "individual", "quantity_kg": 3, "beneficiary": {"name": "小李"}}
    first = client.post(f"{API}/orders", json=body, headers=headers)
    second = client.post(f"{API}/orders", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"].endswith(f"/api/v1/orders/{first.get_json()['id']}")
    assert retail_kg(market) == 20_000


def test_the_order_endpoints_are_documented(app, client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/orders"]
    assert "post" in paths["/api/v1/orders/{order_id}/invoice-payment"]
    assert "get" in paths["/api/v1/certificates/{certificate_id}"]


def test_the_scheduler_runs_the_reservation_expiry_job(app):
    from web.scheduler import start_scheduler

    scheduler = start_scheduler(app, ledger(app))
    try:
        assert scheduler.get_job("expire-reservations") is not None
    finally:
        scheduler.shutdown(wait=False)
