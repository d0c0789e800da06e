"""Every endpoint, tried with another organisation's identifiers: refused, and nothing written.

Organisation A (an owner, an enterprise buyer and an event organiser) builds up a project with a draft, a
monitoring report, a quote, a paid enterprise order with holdings, an event with its order and a pre-order.
Organisation B holds a key in every non-registry role. For every route of the API (read from the app's URL
map, so that a new endpoint cannot be added without being classified here) B then calls it with A's
identifiers, in the role the endpoint serves:

- an endpoint of the registry's staff refuses every one of B's keys (403);
- an endpoint of a buyer, owner or organiser refuses B's key of that role with a 403 or 404 (a 404 gives
  no hint that A's object exists) and writes nothing;
- a public endpoint that "shows more to some" shows B exactly what it shows an anonymous caller;
- the remaining endpoints are public by purpose (reference data, the ledger, calculators, public
  catalogues) or act only for the caller; each is listed with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from api_support import API, Party, table_counts
from flask import Flask
from flask.testing import FlaskClient
from world_support import ENTERPRISE_ORDER, World, build_world

from api.auth import REGISTRY_ROLES
from api.openapi import _DOCS as DOCUMENTED

PUBLIC_BY_PURPOSE = {
    "openapi_document": "the API's own description",
    "latest_checkpoint": "the ledger is public (DESIGN.md)",
    "get_entry": "the ledger is public; private beneficiaries are commitments in it",
    "entry_page": "the ledger is public, a page of entries at a time",
    "tile": "the ledger is public, as C2SP tlog-tiles",
    "add_cosignatures": "a cosignature proves itself against the witness keys the registry lists",
    "health": "what the ledger page shows: sizes, times, the last verification's outcome",
    "verifier_key": "the ledger is public",
    "witness_keys": "the ledger is public, and so is whom it asks to witness it",
    "consistency_proof": "the ledger is public",
    "inclusion_proof": "the ledger is public",
    "list_methodologies": "reference data",
    "get_methodology": "reference data",
    "calculate_with_methodology": "a calculator: reads and writes nothing of anyone's",
    "estimate_personal_footprint": "a calculator",
    "estimate_event_footprint": "a calculator",
    "estimate_enterprise_footprint": "a calculator",
    "event_carbon_neutral_statement": "a calculator",
    "list_zones": "reference data",
    "list_counties": "reference data",
    "potential_report": "the plan's public progress (every project's type, scale and sink volume is public)",
    "potential_report_csv": "the same, as CSV",
    "progress_report": "the plan's public progress",
    "get_organisation": "an organisation's registered name, kind and credit code are public",
    "list_lots": "the public catalogue",
    "get_lot": "the public catalogue",
    "lot_status_history": "a lot's suspensions are public, like its catalogue entry",
    "list_preorder_listings": "the public pre-order catalogue",
    "get_public_event": "an event's carbon-neutral page is public by design",
    "get_poverty_summary": "the public poverty-area summary",
    "export_lots_csv": "the public catalogue as CSV",
    "export_retirements_csv": "the public retirement registry (pseudonymised)",
    "export_certificates_csv": "the public certificate list (private certificates' ids left out)",
    "get_certificate": "the id is the bearer capability a buyer shares; unguessable (64 random bits)",
    "get_certificate_pdf": "as get_certificate",
    "get_certificate_tlog_proof": "as get_certificate",
    "get_certificate_qr": "as get_certificate",
    "stripe_webhook_view": "authenticated by Stripe's signature, not by a key (tested in tests/e2e/payments)",
    "create_quote": "acts only for the caller's own organisation; no identifier of another to give",
    "create_event": "acts only for the caller's own organisation",
    "place_preorder": "a listing is public; a pre-order is always the caller's own",
    "verify_monitoring_report": (
        "any verifier organisation may verify another's project: that is its job; its own and affiliated "
        "projects are refused by offsets.monitoring"
    ),
}


@pytest.fixture
def world(app: Flask, client: FlaskClient, market: Flask) -> World:
    return build_world(app, client)


@dataclass(frozen=True)
class Attempt:
    role: str
    method: str
    path: str
    body: Any = None


def attempts(world: World, endpoint: str) -> list[Attempt]:
    """B's attempts on ``endpoint`` with A's identifiers, in the role(s) the endpoint serves."""
    ids = world.ids
    quote_order = {**ENTERPRISE_ORDER, "quote_id": ids["quote_id"]}
    buyers = ("enterprise_buyer", "event_organiser")
    table: dict[str, list[Attempt]] = {
        "get_event": [Attempt("event_organiser", "GET", f"/events/{ids['event_id']}")],
        "place_event_order": [Attempt("event_organiser", "POST", f"/events/{ids['event_id']}/orders", {})],
        "get_quote": [
            Attempt(role, "GET", f"/quotes/{ids['quote_id']}")
            for role in ("enterprise_buyer", "event_organiser")
        ],
        "place_order_view": [Attempt("enterprise_buyer", "POST", "/orders", quote_order)],
        "start_payment_view": [
            Attempt(role, "POST", f"/orders/{order}/payments", {"provider": "invoice"})
            for role in buyers
            for order in (ids["order_id"], ids["event_order_id"])
        ],
        "refund_order_view": [
            Attempt(role, "POST", f"/orders/{order}/refunds", {"reason": "不要了"})
            for role in buyers
            for order in (ids["order_id"], ids["event_order_id"])
        ],
        "retire_for_compliance": [
            Attempt(
                "enterprise_buyer",
                "POST",
                f"/organisations/{ids['organisation_id']}/retirements",
                {"compliance_period": "2025 年度履约", "quantity_kg": 100},
            )
        ],
        "get_statement": [
            Attempt("enterprise_buyer", "GET", f"/organisations/{ids['organisation_id']}/statement"),
            Attempt("event_organiser", "GET", f"/organisations/{ids['organiser_organisation_id']}/statement"),
        ],
        "export_statement_csv": [
            Attempt("enterprise_buyer", "GET", f"/organisations/{ids['organisation_id']}/statement.csv"),
            Attempt(
                "event_organiser", "GET", f"/organisations/{ids['organiser_organisation_id']}/statement.csv"
            ),
        ],
        "create_lot": [
            Attempt(
                "project_owner",
                "POST",
                "/lots",
                {"lot_id": "L-B", "batch_id": ids["batch_id"], "quantity_kg": 1, "price_fen_per_t": 1},
            )
        ],
        "create_project_view": [
            Attempt(
                "project_owner",
                "POST",
                "/projects",
                project_body_for(ids["a_owner_organisation_id"]),
            )
        ],
        "submit_monitoring_report": [
            Attempt(
                "project_owner",
                "POST",
                f"/projects/{ids['project_id']}/monitoring-reports",
                report_body_for_sweep(),
            )
        ],
        "list_affiliations": [
            Attempt(role, "GET", f"/organisations/{ids['a_owner_organisation_id']}/affiliations")
            for role in world.b
        ],
        "get_affiliation_record": [
            Attempt(role, "GET", f"/affiliations/{ids['affiliation_id']}") for role in world.b
        ],
        "transition_project": [
            Attempt(
                "project_owner",
                "POST",
                f"/projects/{ids['draft_project_id']}/transitions",
                {"to": "submitted"},
            )
        ],
    }
    return table[endpoint]


def project_body_for(owner_id: int) -> dict[str, Any]:
    from api_support import project_body

    return project_body(code="LS09", owner_id=owner_id)


def report_body_for_sweep() -> dict[str, Any]:
    from api_support import report_body

    return report_body(start="2025-01-01", end="2025-12-31")


OPTIONAL_AUTH_READS = {
    "get_monitoring_report": "/monitoring-reports/{report_id}",
    "get_order": "/orders/{order_id}",
    "get_preorder": "/preorders/{preorder_id}",
    "list_projects": "/projects?per_page=100",
    "get_project": "/projects/{draft_project_id}",
    "get_project_events": "/projects/{draft_project_id}/events",
    "list_monitoring_reports": "/projects/{draft_project_id}/monitoring-reports",
}
"""Public reads that show more to the owner or the registry: B must see exactly what anyone sees."""

VERIFIERS_READ = {"get_monitoring_report", "list_monitoring_reports"}
"""Any verifier may verify a submitted report (see verify_monitoring_report above), so it may read it."""

VISIBLE_TO_OWN_ONLY = {"export_orders_csv"}
"""Lists that serve every buyer, each its own rows only (checked by content below)."""


def api_endpoints(app: Flask) -> dict[str, tuple[str, set[str]]]:
    endpoints = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            name = rule.endpoint.split(".", 1)[1]
            endpoints[name] = (rule.rule, set(rule.methods or ()) - {"HEAD", "OPTIONS"})
    return endpoints


def is_registry_only(name: str) -> bool:
    roles = DOCUMENTED[name]["roles"]
    return roles is not None and set(roles) <= REGISTRY_ROLES


def test_every_endpoint_is_classified(app):
    unclassified = [
        name
        for name in api_endpoints(app)
        if name not in PUBLIC_BY_PURPOSE
        and name not in OPTIONAL_AUTH_READS
        and name not in VISIBLE_TO_OWN_ONLY
        and not (name in DOCUMENTED and is_registry_only(name))
        and name not in ATTEMPTED
    ]
    assert unclassified == [], "classify these endpoints in the authorization sweep"


ATTEMPTED = {
    "get_event",
    "place_event_order",
    "get_quote",
    "place_order_view",
    "start_payment_view",
    "refund_order_view",
    "retire_for_compliance",
    "get_statement",
    "export_statement_csv",
    "create_lot",
    "create_project_view",
    "submit_monitoring_report",
    "transition_project",
    "list_affiliations",
    "get_affiliation_record",
}


def fill(rule: str, ids: dict[str, Any]) -> str:
    """A registry-only rule's path with A's identifiers in its variables."""
    names = {
        "affiliation_id": ids["affiliation_id"],
        "event_id": ids["event_id"],
        "report_id": ids["report_id"],
        "order_id": ids["order_id"],
        "organisation_id": ids["organisation_id"],
        "project_id": ids["project_id"],
        "listing_id": ids["listing_id"],
        "lot_id": ids["lot_id"],
        "preorder_id": ids["preorder_id"],
        "quote_id": ids["quote_id"],
    }
    path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(names[m.group(1)]), rule)
    return path.removeprefix(API)


def call(party: Party, method: str, path: str, body: Any = None):
    if method == "GET":
        return party.get(path)
    return party.post(path, body if body is not None else {})


def test_the_registrys_endpoints_refuse_every_other_organisations_key(app, world):
    registry_only = sorted(
        name for name in api_endpoints(app) if name in DOCUMENTED and is_registry_only(name)
    )
    assert len(registry_only) >= 15, registry_only
    before = table_counts(app)
    for name in registry_only:
        rule, methods = api_endpoints(app)[name]
        for method in methods:
            for role, party in world.b.items():
                response = call(party, method, fill(rule, world.ids), {})
                assert response.status_code == 403, (name, role, response.get_data(as_text=True))
                assert response.mimetype == "application/problem+json"
                assert response.get_json()["field"] == "role"
    assert table_counts(app) == before


@pytest.mark.parametrize("endpoint", sorted(ATTEMPTED))
def test_another_organisations_identifiers_are_refused_and_nothing_is_written(app, world, endpoint):
    before = table_counts(app)
    tried = attempts(world, endpoint)
    assert tried
    for attempt in tried:
        response = call(world.b[attempt.role], attempt.method, attempt.path, attempt.body)
        assert response.status_code in (403, 404), (attempt, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
    assert table_counts(app) == before


@pytest.mark.parametrize("endpoint", sorted(OPTIONAL_AUTH_READS))
def test_public_reads_show_another_organisation_only_what_anyone_sees(app, client, world, endpoint):
    path = OPTIONAL_AUTH_READS[endpoint].format(**world.ids)
    anonymous = client.get(API + path)
    owner_view = world.a_owner.get(path) if "project" in path or "report" in path else None
    for role, party in world.b.items():
        if role == "verifier" and endpoint in VERIFIERS_READ:
            continue
        seen = party.get(path)
        assert (seen.status_code, seen.get_json()) == (anonymous.status_code, anonymous.get_json()), (
            endpoint,
            role,
        )
    if owner_view is not None and endpoint != "get_monitoring_report":
        # The sweep means something only if the owner sees more than the others (its draft).
        assert owner_view.get_json() != anonymous.get_json(), endpoint


def test_a_buyers_order_export_holds_its_own_orders_only(world):
    for role, party in world.b.items():
        response = party.get("/exports/orders.csv")
        if role in ("enterprise_buyer", "event_organiser"):
            assert response.status_code == 200
            text = response.get_data(as_text=True)
            for order_id in (world.ids["order_id"], world.ids["paid_order_id"], world.ids["event_order_id"]):
                assert order_id not in text, role
        else:
            assert response.status_code == 403, role
    own = world.a_enterprise.get("/exports/orders.csv").get_data(as_text=True)
    assert world.ids["paid_order_id"] in own
