"""The whole supply side through the API: a project from draft to issued credits, and a loss reversed."""

from __future__ import annotations

import json

from api_support import (
    API,
    assert_problem,
    create_project,
    issue,
    ledger,
    project_body,
    register_project,
    submit_report,
    table_counts,
    verify,
)
from sqlalchemy import select

from ledger.accounts import BUFFER
from ledger.models import Batch, Holding


def test_a_project_goes_from_registration_to_issued_credits_on_a_verifiable_ledger(
    app, client, owner, reviewer, verifier, admin
):
    project = create_project(owner)
    assert project["status"] == "draft"
    assert project["buffer_percent"] == 20  # the registry's default for afforestation (buffer_policy.toml)
    path = f"/projects/{project['id']}"

    submitted = owner.post(f"{path}/transitions", {"to": "submitted", "reason": "材料齐备"})
    assert submitted.status_code == 201
    assert submitted.get_json()["to_status"] == "submitted"
    assert reviewer.post(f"{path}/transitions", {"to": "under_review"}).status_code == 201
    review = reviewer.post(
        f"{path}/qualification-review",
        {
            "approved": True,
            "reasons": "营业执照、林权证齐全",
            "documents": [{"title": "营业执照"}, {"title": "林权证", "reference": "川(2019)0001"}],
            "capability": "专业造林队伍",
        },
    )
    assert review.status_code == 201
    assert review.get_json()["decision"] == "approved"
    assert review.get_json()["project_status"] == "registered"

    report = submit_report(owner, project["id"])
    assert report["status"] == "submitted"
    assert report["net_removals_kg"] == report["calculation"]["net_removals_kg"] > 0
    assert report["calculation"]["terms"], "the breakdown is itemised"

    verification = verify(verifier, report["id"])
    assert verification["decision"] == "verified"
    assert verification["verified_net_removals_kg"] == report["net_removals_kg"]

    issuance = issue(admin, report["id"])
    quantity = report["net_removals_kg"]
    buffer_kg = -(-quantity * 20 // 100)
    assert (issuance["owner_kg"], issuance["buffer_kg"]) == (quantity - buffer_kg, buffer_kg)
    assert issuance["batch_id"] == "LS01-2024-001"
    assert issuance["owner_account"] == f"ORG-{owner.organisation_id:06d}"
    owner_range, buffer_range = issuance["serial_ranges"]
    owner_kg = quantity - buffer_kg
    assert owner_range == {
        "account": issuance["owner_account"],
        "batch": "LS01-2024-001",
        "start": 1,
        "end": owner_kg,
        "serial": f"SC-LS01-2024-001-1-{owner_kg}",
    }
    assert (buffer_range["account"], buffer_range["batch"]) == (BUFFER, "LS01-2024-001")
    assert (buffer_range["start"], buffer_range["end"]) == (owner_kg + 1, quantity)

    with ledger(app).database.reading() as session:
        batch = session.get(Batch, issuance["batch_id"])
        assert batch is not None
        assert batch.quantity_kg == quantity
        held = dict(
            session.execute(
                select(Holding.account_id, Holding.end_kg - Holding.start_kg + 1).where(
                    Holding.batch_id == batch.id
                )
            ).all()
        )
    assert held == {issuance["owner_account"]: quantity - buffer_kg, BUFFER: buffer_kg}
    entry = json.loads(client.get(f"{API}/ledger/entries/{issuance['ledger_seq']}").get_json()["body"])
    assert entry["kind"] == "issue"
    assert entry["data"]["batch"]["attributes"]["buffer_percent"] == 20
    assert entry["data"]["batch"]["attributes"]["poverty_county"] is True
    ledger(app).sign_checkpoint()
    assert ledger(app).verify().size == issuance["ledger_seq"] + 1

    public = client.get(f"{API}{path}").get_json()
    assert public["status"] == "registered"
    assert public["next_statuses"] == ["suspended", "closed"]
    assert public["totals"] == {
        "issued_kg": quantity,
        "verified_kg": quantity,
        "buffer_kg": buffer_kg,
        "reversed_kg": 0,
    }
    assert public["area_mu"] == "1500.00"
    assert (public["zone"], public["county"]) == ("川西南", "越西县")
    assert public["poverty_county"]["category"] == "national"
    assert public["flags"]["zone_focus"] == "priority"
    assert public["flags"]["standard_award_eligible"] is True
    assert public["flags"]["eco_industry_allowance_mu"] == "36.00"  # 3 % of 1,200 mu, under the 50 mu cap
    assert "beneficiaries" not in public
    assert [i["batch_id"] for i in public["issuances"]] == ["LS01-2024-001"]
    events = client.get(f"{API}{path}/events").get_json()["events"]
    assert [e["to_status"] for e in events] == ["draft", "submitted", "under_review", "registered"]
    assert (
        client.get(f"{API}/monitoring-reports/{report['id']}").get_json()["issuance"]["id"] == issuance["id"]
    )


def test_a_verified_loss_is_cancelled_from_the_buffer_pool(app, client, owner, reviewer, verifier, admin):
    project = register_project(owner, reviewer)
    first = submit_report(owner, project["id"])
    verify(verifier, first["id"])
    issued = issue(admin, first["id"])
    loss = submit_report(
        owner,
        project["id"],
        start="2025-01-01",
        end="2025-12-31",
        volume_start="60",
        volume_end="59",
        years="1",
    )
    assert loss["net_removals_kg"] < 0
    verify(verifier, loss["id"], comments="2025 年 3 月山火，过火面积核实")

    reversal = issue(admin, loss["id"])

    assert reversal["kind"] == "reversal"
    assert reversal["batch_id"] is None
    assert reversal["owner_account"] is None  # cancelled from the buffer: no owner receives anything
    assert reversal["buffer_kg"] == -loss["net_removals_kg"]
    assert {r["account"] for r in reversal["serial_ranges"]} == {BUFFER}
    assert sum(r["end"] - r["start"] + 1 for r in reversal["serial_ranges"]) == reversal["buffer_kg"]
    totals = client.get(f"{API}/projects/{project['id']}").get_json()["totals"]
    assert totals["reversed_kg"] == reversal["buffer_kg"]
    assert totals["buffer_kg"] == issued["buffer_kg"]  # what went into the buffer; the reversal is beside it
    # Issued stays what was issued; the reversal is shown beside it, not netted out of it.
    assert totals["issued_kg"] == issued["owner_kg"] + issued["buffer_kg"]
    assert totals["verified_kg"] == first["net_removals_kg"] + loss["net_removals_kg"]
    ledger(app).sign_checkpoint()
    ledger(app).verify()


def test_issuance_never_exceeds_cumulative_verified_removals(app, owner, reviewer, verifier, admin):
    project = register_project(owner, reviewer)
    gain = submit_report(
        owner, project["id"], volume_start="10", volume_end="11", years="1", end="2020-12-31"
    )
    loss = submit_report(
        owner,
        project["id"],
        start="2021-01-01",
        end="2021-12-31",
        volume_start="11",
        volume_end="9",
        years="1",
    )
    verify(verifier, gain["id"])
    verify(verifier, loss["id"])
    assert gain["net_removals_kg"] + loss["net_removals_kg"] < 0
    before = table_counts(app)

    refused = admin.post(f"/monitoring-reports/{gain['id']}/issuance")

    assert_problem(refused, 409, "report_id")
    assert "cumulative" in refused.get_json()["detail"]
    assert table_counts(app) == before


def test_a_verifier_may_confirm_less_than_calculated_but_never_more(owner, reviewer, verifier, admin):
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    more = verifier.post(
        f"/monitoring-reports/{report['id']}/verification",
        {"verified": True, "comments": "ok", "verified_net_removals_kg": report["net_removals_kg"] + 1},
    )
    assert_problem(more, 400, "verified_net_removals_kg")

    less = verify(verifier, report["id"], verified_net_removals_kg=1_000_000)
    assert less["verified_net_removals_kg"] == 1_000_000
    issuance = issue(admin, report["id"])
    assert issuance["owner_kg"] + issuance["buffer_kg"] == 1_000_000


def test_a_returned_report_is_not_issued_and_its_period_may_be_reported_again(
    owner, reviewer, verifier, admin
):
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    returned = verify(verifier, report["id"], verified=False, comments="样地数据缺 3 个样地")
    assert returned["decision"] == "returned"
    assert_problem(admin.post(f"/monitoring-reports/{report['id']}/issuance"), 409, "report_id")

    again = submit_report(owner, project["id"])

    assert again["id"] != report["id"]
    accepted = verify(verifier, again["id"], comments="补测后样地齐全")
    # Each report lists its own verifications only.
    first_read = owner.get(f"/monitoring-reports/{report['id']}").get_json()["verifications"]
    second_read = owner.get(f"/monitoring-reports/{again['id']}").get_json()["verifications"]
    assert [(v["id"], v["decision"], v["comments"]) for v in first_read] == [
        (returned["id"], "returned", "样地数据缺 3 个样地")
    ]
    assert [(v["id"], v["decision"]) for v in second_read] == [(accepted["id"], "verified")]


def test_issuing_a_report_twice_returns_the_first_issuance_and_appends_nothing(
    app, owner, reviewer, verifier, admin
):
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    verify(verifier, report["id"])
    first = issue(admin, report["id"])
    size = ledger(app).size()

    second = admin.post(f"/monitoring-reports/{report['id']}/issuance")

    assert second.status_code == 200
    assert second.get_json() == first
    assert ledger(app).size() == size


def test_the_registry_may_register_a_project_for_an_owner_with_its_own_buffer_share(admin, owner):
    body = project_body(
        owner_id=owner.organisation_id,
        code="GY02",
        buffer_percent=15,
        county_code="510812",  # 朝天区, 广元市, 川东北
        project_type="forest_management",
        methodology="AR-CM-003-V01",
        location={"type": "Point", "coordinates": [106.0, 32.6]},
    )

    response = admin.post("/projects", body)

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["buffer_percent"] == 15
    assert created["owner"]["id"] == owner.organisation_id
    assert created["beneficiaries"], "the registry sees the beneficiaries"
    assert response.headers["Location"].endswith(f"/projects/{created['id']}")
