"""The three buyer journeys' missing pieces through the API: an enterprise's quote → order at the quoted
price → invoice → holdings in its statement → compliance retirement with a certificate that verifies
offline; an event sized by the calculator, offset and shown publicly as carbon neutral; a gift; and every
journey endpoint refusing another organisation's key with a 404."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from api_support import API, Party, assert_problem, ledger, make_party
from flask import Flask
from flask.testing import FlaskClient
from market_support import pay
from sqlalchemy import func, select, update
from tests_support import ORIGIN

from ledger.certificate_check import verify_certificate
from ledger.models import Entry
from ledger.note import NoteVerifier
from marketplace.models import Lot, MarketOrder

PERIOD = "2025 年度履约 / compliance year 2025"


@pytest.fixture
def organiser(app: Flask, client: FlaskClient) -> Party:
    return make_party(app, client, "成都国际会展有限公司", "organiser", "event_organiser")


@pytest.fixture
def other_organiser(app: Flask, client: FlaskClient) -> Party:
    return make_party(app, client, "绵阳文旅活动有限公司", "organiser", "event_organiser")


def paid(admin: Party, order: dict, reference: str = "BANK-0001"):
    response = pay(admin, order, reference)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def verifier(client: FlaskClient) -> list[NoteVerifier]:
    return [NoteVerifier.from_vkey(client.get(f"{API}/ledger/key").get_data(as_text=True).strip())]


def enterprise_order_with_quote(party: Party, quote_id: str, **changes):
    body = {"kind": "enterprise", "quote_id": quote_id, "beneficiary": {"name": "成都绿色制造有限公司"}}
    return party.post("/orders", body | {"details": "2025 年度履约"} | changes)


# --- the enterprise journey ------------------------------------------------------------------------------


def test_the_enterprise_journey_from_quote_to_a_compliance_certificate_that_verifies_offline(
    market, client, admin, enterprise
):
    asked = {"quantity_t": 3, "sourcing": {"prefer_poverty_area": True}}
    created = enterprise.post("/quotes", asked, headers={"Idempotency-Key": "quote-1"})
    assert created.status_code == 201, created.get_json()
    quote = created.get_json()
    assert quote["quantity_kg"] == 3_000
    assert [(line["lot_id"], line["quantity_kg"], line["price_fen"]) for line in quote["lines"]] == [
        ("L-1", 3_000, 150_000)
    ]
    assert quote["lines"][0]["price_fen_per_t"] == 50_000
    assert quote["lines"][0]["poverty_county"] is True
    assert quote["total_fen"] == 150_000
    assert any("poverty-area lots first" in line for line in quote["explanation"])
    quoted_at = datetime.fromisoformat(quote["created_at"])
    assert datetime.fromisoformat(quote["valid_until"]) - quoted_at == timedelta(hours=24)
    assert created.headers["Location"].endswith(f"/quotes/{quote['id']}")
    # A quote reserves nothing, and the same request with the same key is the same quote.
    again = enterprise.post("/quotes", asked, headers={"Idempotency-Key": "quote-1"})
    assert again.get_json()["id"] == quote["id"]
    rival = client.post(
        f"{API}/orders",
        json={
            "kind": "individual",
            "quantity_kg": 7_000,
            "beneficiary": {"name": "小李"},
            "sourcing": {"poverty_area_only": True},
        },
    )
    assert rival.status_code == 201, rival.get_json()
    assert enterprise.get(f"/quotes/{quote['id']}").get_json()["accepted_by_order_id"] is None

    placed = enterprise_order_with_quote(enterprise, quote["id"])
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    assert order["quote_id"] == quote["id"]
    assert order["quantity_kg"] == 3_000
    assert order["price_fen"] == quote["total_fen"]
    assert order["allocation"]["holds"] == [{"lot_id": "L-1", "quantity_kg": 3_000}]
    assert order["sourcing"]["prefer_poverty_area"] is True
    assert enterprise.get(f"/quotes/{quote['id']}").get_json()["accepted_by_order_id"] == order["id"]
    assert_problem(enterprise_order_with_quote(enterprise, quote["id"]), 409, "quote_id")

    fulfilled = paid(admin, order)
    assert fulfilled["state"] == "fulfilled"

    statement = enterprise.get(f"/organisations/{enterprise.organisation_id}/statement").get_json()
    assert statement["held_kg"] == 3_000
    [held] = statement["holdings"]
    assert (held["project_code"], held["vintage"], held["quantity_kg"]) == ("YY01", "2021", 3_000)
    assert held["batch_id"].startswith("YY01")
    assert sum(item["quantity_kg"] for item in held["ranges"]) == 3_000
    [transfer] = statement["history"]
    assert transfer["movement"] == "transfer_in"
    assert transfer["counterparty"] == "RETAIL"
    assert transfer["order_id"] == order["id"]
    assert transfer["seq"] == fulfilled["fulfilment_seq"]

    retire = {"compliance_period": PERIOD, "quantity_kg": 1_200}
    path = f"/organisations/{enterprise.organisation_id}/retirements"
    retired = enterprise.post(path, retire, headers={"Idempotency-Key": "retire-2025"})
    assert retired.status_code == 201, retired.get_json()
    retirement = retired.get_json()
    assert retirement["quantity_kg"] == 1_200
    assert retirement["compliance_period"] == PERIOD
    size = ledger(market).size()
    replay = enterprise.post(path, retire, headers={"Idempotency-Key": "retire-2025"})
    assert replay.get_json()["certificate_id"] == retirement["certificate_id"]
    assert ledger(market).size() == size

    certificate = client.get(f"{API}/certificates/{retirement['certificate_id']}").get_json()
    assert certificate["order_id"] is None
    assert certificate["beneficiary"] == {"public": True, "name": "成都绿色制造有限公司"}
    proven = verify_certificate(certificate, verifier(client), ORIGIN)
    assert proven.reason == "compliance_period"
    assert proven.details == PERIOD
    assert proven.quantity_kg == 1_200
    assert proven.beneficiary_name == "成都绿色制造有限公司"

    after = enterprise.get(f"/organisations/{enterprise.organisation_id}/statement").get_json()
    assert after["held_kg"] == 1_800
    assert [line["movement"] for line in after["history"]] == ["transfer_in", "retired"]
    assert after["history"][1]["certificate_id"] == retirement["certificate_id"]
    assert after["history"][1]["details"] == PERIOD
    assert after["totals_kg"] == {"transfer_in": 3_000, "retired": 1_200}
    # The registry reads it too; a date range limits the history, not the holdings.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    later = admin.get(f"/organisations/{enterprise.organisation_id}/statement?from={tomorrow}").get_json()
    assert later["history"] == []
    assert later["held_kg"] == 1_800
    assert later["period"] == {"from": tomorrow, "to": None}
    assert after["period"] == {"from": None, "to": None}
    assert ledger(market).verify().size == ledger(market).size()


def test_an_order_on_a_quote_whose_stock_or_price_moved_is_refused_and_writes_nothing(
    market, client, enterprise
):
    quote = enterprise.post("/quotes", {"quantity_kg": 500, "sourcing": {"zone": "川西南"}}).get_json()
    taken = client.post(
        f"{API}/orders",
        json={
            "kind": "individual",
            "quantity_kg": 9_800,
            "beneficiary": {"name": "小李"},
            "sourcing": {"zone": "川西南"},
        },
    )
    assert taken.status_code == 201
    with ledger(market).database.reading() as session:
        orders_before = session.scalar(select(func.count()).select_from(MarketOrder))
    problem = assert_problem(enterprise_order_with_quote(enterprise, quote["id"]), 409, "quote_id")
    assert "L-1 has 200 kg available" in problem["detail"]
    with ledger(market).database.reading() as session:
        assert session.scalar(select(func.count()).select_from(MarketOrder)) == orders_before

    cheap = enterprise.post("/quotes", {"quantity_kg": 100, "sourcing": {"zone": "川中"}}).get_json()
    with ledger(market).database.unit_of_work() as uow:
        uow.session.execute(update(Lot).where(Lot.id == "L-2").values(price_fen_per_t=90_000))
        uow.commit()
    problem = assert_problem(enterprise_order_with_quote(enterprise, cheap["id"]), 409, "quote_id")
    assert "90000 fen per tonne, quoted at 80000" in problem["detail"]


def test_an_expired_quote_is_refused(market, enterprise):
    market.config["TANHUI_QUOTE_VALIDITY_S"] = 1
    quote = enterprise.post("/quotes", {"quantity_kg": 10}).get_json()
    time.sleep(1.1)
    problem = assert_problem(enterprise_order_with_quote(enterprise, quote["id"]), 409, "quote_id")
    assert problem["type"].endswith("quote-expired")


def test_an_order_must_ask_for_the_quantity_it_was_quoted(market, enterprise):
    quote = enterprise.post("/quotes", {"quantity_kg": 10}).get_json()
    assert_problem(enterprise_order_with_quote(enterprise, quote["id"], quantity_kg=11), 422, "quantity_kg")
    assert_problem(
        enterprise_order_with_quote(enterprise, quote["id"], sourcing={"zone": "川中"}), 400, "sourcing"
    )


def test_a_compliance_retirement_needs_an_idempotency_key_and_credits_the_enterprise_holds(
    market, admin, enterprise
):
    path = f"/organisations/{enterprise.organisation_id}/retirements"
    assert_problem(
        enterprise.post(path, {"compliance_period": PERIOD, "quantity_kg": 1}), 400, "Idempotency-Key"
    )
    refused = enterprise.post(
        path, {"compliance_period": PERIOD, "quantity_kg": 1}, headers={"Idempotency-Key": "r-1"}
    )
    assert_problem(refused, 409, "quantity_kg")
    assert_problem(
        enterprise.post(
            path, {"compliance_period": "", "quantity_kg": 1}, headers={"Idempotency-Key": "r-2"}
        ),
        400,
        "compliance_period",
    )
    # The registry cannot retire an enterprise's credits for it.
    assert_problem(admin.post(path, {"compliance_period": PERIOD, "quantity_kg": 1}), 403, "role")


# --- the event journey -----------------------------------------------------------------------------------

EVENT = {
    "name": "2026 成都国际林业碳汇论坛",
    "starts_on": "2026-12-01",
    "ends_on": "2026-12-03",
    "place": "成都世纪城国际会议中心",
    "county_code": "510107",
    "attendees": 800,
    "footprint": {"measured_kg": {"accommodation_catering": "1234.5", "waste": "100"}},
}


def test_the_event_journey_sizes_offsets_and_publishes_a_carbon_neutral_event(
    market, client, admin, organiser
):
    created = organiser.post("/events", EVENT, headers={"Idempotency-Key": "event-1"})
    assert created.status_code == 201, created.get_json()
    event = created.get_json()
    calculator = client.post(
        f"{API}/footprints/event", json=EVENT["footprint"] | {"attendees": 800, "days": 3}
    ).get_json()
    assert event["footprint"]["offset_kg"] == calculator["offset_kg"] == 1_335  # 1,334.5 kg rounded up
    assert event["footprint"]["total_kg"] == calculator["total_kg"]
    assert event["footprint"]["factor_set_version"] == calculator["factor_set_version"]
    assert event["footprint"]["categories"] == calculator["categories"]
    assert event["footprint"]["calculator_input"]["days"] == 3
    assert event["public_record"]["carbon_neutral"] is False
    assert (
        organiser.post("/events", EVENT, headers={"Idempotency-Key": "event-1"}).get_json()["id"]
        == event["id"]
    )

    placed = organiser.post(f"/events/{event['id']}/orders", {"sourcing": {"prefer_poverty_area": True}})
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    assert (order["kind"], order["quantity_kg"], order["event_id"]) == ("event", 1_335, event["id"])
    assert order["beneficiary"] == {"name": EVENT["name"], "public": True}
    assert "2026-12-01" in order["details"]
    assert EVENT["place"] in order["details"]

    fulfilled = paid(admin, order)
    public = client.get(f"{API}/public/events/{event['id']}").get_json()
    assert public["footprint_kg"] == public["offset_kg"] == 1_335
    assert public["certificate_ids"] == [fulfilled["certificate_id"]]
    assert public["carbon_neutral"] is True
    assert public["organiser"] == "成都国际会展有限公司"

    certificate = client.get(f"{API}/certificates/{fulfilled['certificate_id']}").get_json()
    proven = verify_certificate(certificate, verifier(client), ORIGIN)
    assert proven.beneficiary_name == EVENT["name"]
    assert proven.reason == "event"
    assert EVENT["place"] in proven.details
    assert organiser.get(f"/events/{event['id']}").get_json()["orders"][0]["state"] == "fulfilled"


def test_an_event_may_be_offset_in_part_with_an_explicit_quantity(market, client, admin, organiser):
    event = organiser.post("/events", EVENT).get_json()
    order = organiser.post(f"/events/{event['id']}/orders", {"quantity_kg": 1_000}).get_json()
    paid(admin, order)
    public = client.get(f"{API}/public/events/{event['id']}").get_json()
    assert (public["offset_kg"], public["carbon_neutral"]) == (1_000, False)


def test_an_event_lists_its_orders_in_the_order_they_were_placed(market, admin, organiser):
    event = organiser.post("/events", EVENT).get_json()
    placed = [
        organiser.post(f"/events/{event['id']}/orders", {"quantity_kg": quantity_kg}).get_json()
        for quantity_kg in (600, 400, 335)
    ]
    paid(admin, placed[1])
    states = ["reserved", "fulfilled", "reserved"]
    assert organiser.get(f"/events/{event['id']}").get_json()["orders"] == [
        {
            "id": order["id"],
            "state": state,
            "quantity_kg": order["quantity_kg"],
            "price_fen": order["price_fen"],
        }
        for order, state in zip(placed, states, strict=True)
    ]
    assert len({order["price_fen"] for order in placed}) == 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_on": "2026-11-30"}, "ends_on"),
        ({"attendees": 0}, "attendees"),
        ({"county_code": "519999"}, "county_code"),
        ({"footprint": {"days": 3}}, "footprint.days"),
        ({"footprint": {"rail_passenger_km": -1}}, "footprint.rail_passenger_km"),
        ({"footprint": {}}, "footprint"),
    ],
)
def test_bad_event_input_names_the_field(market, organiser, changes, field):
    response = organiser.post("/events", EVENT | changes)
    assert response.status_code in (400, 422), response.get_json()
    assert response.get_json()["field"] == field


# --- gifts -----------------------------------------------------------------------------------------------


def test_a_gift_is_retired_privately_in_the_recipients_name(market, client, admin):
    body = {
        "kind": "individual",
        "quantity_kg": 5,
        "display_name": "王小明",
        "gift": {"recipient_name": "李小红", "message": "生日快乐！"},
    }
    placed = client.post(f"{API}/orders", json=body)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    assert order["beneficiary"] == {"name": "李小红", "public": False}
    assert order["reason"] == "gift"
    assert order["buyer"]["display_name"] == "王小明"
    assert order["gift"] == {"recipient_name": "李小红", "message": "生日快乐！"}

    fulfilled = paid(admin, order)
    certificate = client.get(f"{API}/certificates/{fulfilled['certificate_id']}").get_json()
    assert certificate["beneficiary"]["name"] == "李小红"
    assert certificate["beneficiary"]["public"] is False
    proven = verify_certificate(certificate, verifier(client), ORIGIN)
    assert (proven.beneficiary_name, proven.reason) == ("李小红", "gift")
    with ledger(market).database.reading() as session:
        body_text = session.scalar(select(Entry.body).where(Entry.seq == fulfilled["fulfilment_seq"]))
    assert "李小红" not in body_text
    assert "生日快乐" not in body_text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "enterprise", "details": "2025 年度履约"}, "gift"),
        ({"beneficiary": {"name": "张三"}}, "beneficiary"),
        ({"gift": {"recipient_name": ""}}, "gift.recipient_name"),
    ],
)
def test_a_bad_gift_names_the_field(market, enterprise, changes, field):
    body = {"kind": "individual", "quantity_kg": 5, "gift": {"recipient_name": "李小红"}} | changes
    response = (
        enterprise.post("/orders", body)
        if body["kind"] == "enterprise"
        else enterprise.client.post(f"{API}/orders", json=body)
    )
    assert_problem(response, 400, field)


# --- other organisations -------------------------------------------------------------------------------


def test_another_organisation_gets_a_404_on_quotes_events_statements_and_retirements(
    market, client, admin, enterprise, other_enterprise, organiser, other_organiser
):
    quote = enterprise.post("/quotes", {"quantity_kg": 100}).get_json()
    assert_problem(other_enterprise.get(f"/quotes/{quote['id']}"), 404, "quote_id")
    assert_problem(enterprise_order_with_quote(other_enterprise, quote["id"]), 404, "quote_id")
    assert enterprise.get(f"/quotes/{quote['id']}").status_code == 200
    assert admin.get(f"/quotes/{quote['id']}").status_code == 200

    own = f"/organisations/{enterprise.organisation_id}"
    assert_problem(other_enterprise.get(f"{own}/statement"), 404, "organisation_id")
    assert_problem(organiser.get(f"{own}/statement"), 404, "organisation_id")
    assert_problem(client.get(f"{API}{own}/statement"), 401, "Authorization")
    refused = other_enterprise.post(
        f"{own}/retirements",
        {"compliance_period": PERIOD, "quantity_kg": 1},
        headers={"Idempotency-Key": "x"},
    )
    assert_problem(refused, 404, "organisation_id")

    event = organiser.post("/events", EVENT).get_json()
    assert_problem(other_organiser.get(f"/events/{event['id']}"), 404, "event_id")
    assert_problem(other_organiser.post(f"/events/{event['id']}/orders", {}), 404, "event_id")
    assert_problem(enterprise.get(f"/events/{event['id']}"), 404, "event_id")
    assert admin.get(f"/events/{event['id']}").status_code == 200
    assert client.get(f"{API}/public/events/{event['id']}").status_code == 200
    with ledger(market).database.reading() as session:
        assert session.scalar(select(func.count()).select_from(MarketOrder)) == 0


def test_the_journey_endpoints_are_documented(app, client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/quotes"]
    assert "get" in paths["/api/v1/quotes/{quote_id}"]
    assert "post" in paths["/api/v1/events"]
    assert "post" in paths["/api/v1/events/{event_id}/orders"]
    assert "get" in paths["/api/v1/public/events/{event_id}"]
    assert "get" in paths["/api/v1/organisations/{organisation_id}/statement"]
    assert "post" in paths["/api/v1/organisations/{organisation_id}/retirements"]
