"""Two organisations for the sweeps over every endpoint: A with objects of every kind, B with a key in
every non-registry role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api_support import Party, create_project, make_party, register_project, submit_report
from flask import Flask
from flask.testing import FlaskClient
from market_support import pay

ENTERPRISE_ORDER = {"kind": "enterprise", "beneficiary": {"name": "甲方制造公司"}, "details": "2025 年度履约"}


@dataclass
class World:
    admin: Party
    reviewer: Party
    a_owner: Party
    a_enterprise: Party
    a_organiser: Party
    b: dict[str, Party]
    ids: dict[str, Any] = field(default_factory=dict)


def build_world(app: Flask, client: FlaskClient) -> World:
    """Organisation A's objects of every kind, and B's keys; needs the ``market`` fixture's lots."""
    admin = make_party(app, client, "四川省林草碳汇登记中心", "registry", "registry_admin")
    reviewer = make_party(app, client, "登记中心审核处", "registry", "reviewer")
    a = World(
        admin=admin,
        reviewer=reviewer,
        a_owner=make_party(app, client, "甲方林业公司", "project_owner", "project_owner"),
        a_enterprise=make_party(app, client, "甲方制造公司", "enterprise", "enterprise_buyer"),
        a_organiser=make_party(app, client, "甲方会展公司", "organiser", "event_organiser"),
        b={
            "project_owner": make_party(app, client, "乙方林业公司", "project_owner", "project_owner"),
            "enterprise_buyer": make_party(app, client, "乙方制造公司", "enterprise", "enterprise_buyer"),
            "event_organiser": make_party(app, client, "乙方会展公司", "organiser", "event_organiser"),
            "verifier": make_party(app, client, "乙方核查机构", "verifier", "verifier"),
        },
    )
    project = register_project(a.a_owner, reviewer)
    draft = create_project(a.a_owner, code="LS02", name="甲方草稿项目")
    report = submit_report(a.a_owner, project["id"])
    quote = created(a.a_enterprise.post("/quotes", {"quantity_t": 1}))
    order = created(
        a.a_enterprise.post(
            "/orders",
            {**ENTERPRISE_ORDER, "quantity_kg": 2_000},
        )
    )
    assert pay(admin, order).status_code == 200
    open_order = created(a.a_enterprise.post("/orders", {**ENTERPRISE_ORDER, "quantity_kg": 500}))
    event = created(
        a.a_organiser.post(
            "/events",
            {
                "name": "甲方论坛",
                "starts_on": "2026-12-01",
                "ends_on": "2026-12-02",
                "place": "成都",
                "attendees": 100,
                "footprint": {"measured_kg": {"waste": "100"}},
            },
        )
    )
    event_order = created(a.a_organiser.post(f"/events/{event['id']}/orders", {}))
    listing = created(
        admin.post(
            "/preorder-listings",
            {
                "project_id": project["id"],
                "vintage": "2026",
                "cap_kg": 10_000,
                "price_fen_per_t": 60_000,
                "expected_issuance_on": "2027-06-30",
            },
        )
    )
    preorder = created(
        a.a_enterprise.post(
            f"/preorder-listings/{listing['id']}/preorders",
            {**ENTERPRISE_ORDER, "quantity_kg": 1_000},
        )
    )
    affiliation = created(
        admin.post(
            f"/organisations/{a.a_owner.organisation_id}/affiliations",
            {
                "other_organisation_id": a.a_enterprise.organisation_id,
                "kind": "common_control",
                "valid_from": "2024-01-01T00:00:00Z",
                "source": "工商登记：同一控股股东",
            },
        )
    )
    a.ids = {
        "affiliation_id": affiliation["id"],
        "project_id": project["id"],
        "draft_project_id": draft["id"],
        "report_id": report["id"],
        "quote_id": quote["id"],
        "order_id": open_order["id"],
        "paid_order_id": order["id"],
        "event_id": event["id"],
        "event_order_id": event_order["id"],
        "listing_id": listing["id"],
        "preorder_id": preorder["id"],
        "organisation_id": a.a_enterprise.organisation_id,
        "organiser_organisation_id": a.a_organiser.organisation_id,
        "lot_id": "L-1",
        "batch_id": "YY01-2021-001",
        "a_owner_organisation_id": a.a_owner.organisation_id,
    }
    return a


def created(response) -> dict[str, Any]:
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body
