"""Every endpoint that takes a body, sent malformed bodies: a 4xx problem naming the field, nothing written.

The endpoints are read from the app's URL map, and each body field from the endpoint's documented
marshmallow schema, so that a new endpoint or field is swept without being listed here. Each endpoint
is called by a party in a role it serves, with identifiers that exist, so that the body is what is
wrong.

The bodies: text that is not JSON or not UTF-8, JSON that is not an object, an unknown field; then a
valid body of each endpoint (listed in VALID_BODIES, which must name every endpoint with a body schema)
with one documented field at a time given a value of a wrong shape: a list, an object, a string of
20,000 characters, numbers far out of range, a fraction, a boolean, null, a NUL character, and the
``NaN`` and ``Infinity`` tokens that Python's JSON reader accepts although JSON has no such numbers.
The problem must name that field, and nothing may be written.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from api_support import API, Party, project_body, report_body, report_inputs, table_counts
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import fields
from marshmallow.fields import Field
from world_support import ENTERPRISE_ORDER, World, build_world

from api.openapi import _DOCS as DOCUMENTED
from api.openapi import _schema_class

NOT_SWEPT = {
    "stripe_webhook_view": "authenticated by Stripe's signature over the raw body (tests/e2e/payments)",
    "issue_monitoring_report": "takes no body",
}

WRONG_VALUES: list[tuple[str, str]] = [
    ("a list", "[]"),
    ("an object", "{}"),
    ("a long string", json.dumps("长" * 20_000)),
    ("a huge negative number", str(-(10**30))),
    ("a huge number", str(10**30)),
    ("a fraction", "1.5"),
    ("a boolean", "true"),
    ("null", "null"),
    ("a NUL character", json.dumps("a\u0000b")),
    ("NaN", "NaN"),
    ("Infinity", "-Infinity"),
]


def valid_bodies(world: World) -> dict[str, dict[str, Any]]:
    """A body each endpoint accepts (its schema, at least: the sweep changes one field at a time)."""
    ids = world.ids
    order = {**ENTERPRISE_ORDER, "quantity_kg": 100}
    return {
        "create_affiliation": {
            "other_organisation_id": ids["organiser_organisation_id"],
            "kind": "common_control",
            "valid_from": "2024-01-01T00:00:00Z",
            "source": "工商登记：同一控股股东",
        },
        "end_affiliation_record": {"reason": "股权已转让"},
        "estimate_personal_footprint": {"electricity_kwh": "2400", "flight_km": 1800},
        "estimate_enterprise_footprint": {"compliance_tonnage_t": "1234.5678"},
        "estimate_event_footprint": {"attendees": 800, "days": 2, "measured_kg": {"waste": "42"}},
        "event_carbon_neutral_statement": {
            "attendees": 500,
            "days": 2,
            "measured_kg": {"accommodation_catering": "1200.25"},
            "offset_kg": 3315,
            "certificate_ids": ["TH-2026-000123"],
        },
        "place_order_view": order,
        "record_invoice_payment_view": {"amount_fen": 5_000, "reference": "BANK-0099"},
        "create_quote": {"quantity_t": 1},
        "create_event": {
            "name": "乙方论坛",
            "starts_on": "2026-12-01",
            "ends_on": "2026-12-02",
            "place": "成都",
            "attendees": 100,
            "footprint": {"measured_kg": {"waste": "100"}},
        },
        "place_event_order": {"quantity_kg": 100},
        "retire_for_compliance": {"compliance_period": "2025 年度履约", "quantity_kg": 100},
        "create_lot": {"lot_id": "L-9", "batch_id": ids["batch_id"], "quantity_kg": 1, "price_fen_per_t": 1},
        "calculate_with_methodology": {"inputs": report_inputs()},
        "create_project_view": project_body(code="LS09"),
        "transition_project": {"to": "submitted"},
        "review_project": {"approved": True, "reasons": "材料齐全，符合条件"},
        "submit_monitoring_report": report_body(start="2025-01-01", end="2025-12-31"),
        "verify_monitoring_report": {"verified": True, "comments": "现场核查通过"},
        "create_organisation": {"name": "丙方制造公司", "kind": "enterprise"},
        "start_payment_view": {"provider": "invoice"},
        "refund_order_view": {"reason": "不要了"},
        "create_preorder_listing": {
            "project_id": ids["project_id"],
            "vintage": "2027",
            "cap_kg": 10_000,
            "price_fen_per_t": 60_000,
            "expected_issuance_on": "2028-06-30",
        },
        "place_preorder": {**order, "quantity_kg": 1_000},
        "convert_preorder_listing": {"lot_id": "L-P"},
        "suspend_lot": {"reason": "核查中"},
        "resume_lot": {"reason": "核查完毕"},
        "record_payout": {
            "amount_fen": 100,
            "paid_at": "2026-01-01T00:00:00Z",
            "recipient_kind": "collective",
            "recipient": "盐源县某村集体经济组织",
            "reference": "PAY-0001",
        },
    }


@pytest.fixture
def world(app: Flask, client: FlaskClient, market: Flask) -> World:
    return build_world(app, client)


def swept_endpoints(app: Flask) -> list[tuple[str, str]]:
    endpoints = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or "POST" not in (rule.methods or ()):
            continue
        name = rule.endpoint.split(".", 1)[1]
        if name not in NOT_SWEPT:
            endpoints.append((name, rule.rule))
    return sorted(endpoints)


def caller(world: World, name: str) -> Party:
    """A party in a role the endpoint serves (public endpoints: an enterprise buyer, who owns A's orders)."""
    parties = {
        "registry_admin": world.admin,
        "reviewer": world.reviewer,
        "project_owner": world.a_owner,
        "enterprise_buyer": world.a_enterprise,
        "event_organiser": world.a_organiser,
        "verifier": world.b["verifier"],
    }
    roles = DOCUMENTED[name]["roles"]
    return parties[roles[0]] if roles else world.a_enterprise


def path_of(rule: str, ids: dict[str, Any]) -> str:
    values = {**ids, "methodology_id": "AR-CM-001-V01"}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(values[m.group(1)]), rule).removeprefix(API)


def body_fields(name: str) -> dict[str, Field]:
    schema_name = DOCUMENTED[name]["body"]
    if schema_name is None:
        return {}
    schema = _schema_class(schema_name)()
    fields = {field.data_key or key: field for key, field in schema.fields.items() if not field.dump_only}
    return dict(sorted(fields.items()))


def is_wrong_for(field: Field, what: str) -> bool:
    """Whether the value ``what`` is of a shape ``field`` refuses (null where it means "not given",
    an empty object for an object of optional parts, a fraction for a decimal are not)."""
    many = isinstance(field, fields.List) or (isinstance(field, fields.Nested) and field.many)
    if what == "null":
        return not field.allow_none
    if what == "an object":
        return not isinstance(field, fields.Dict | fields.Nested) or many
    if what == "a list":
        return not many
    if what == "a fraction":
        return not isinstance(field, fields.Decimal | fields.Float)
    if what == "a boolean":
        return not isinstance(field, fields.Boolean)
    return True


def malformed_bodies(
    body: dict[str, Field], valid: dict[str, Any] | None
) -> list[tuple[str, bytes, str | None]]:
    """(what is wrong, the raw body, the field a problem must name, if one)."""
    bodies: list[tuple[str, bytes, str | None]] = [
        ("not JSON", b'{"quantity_kg": ', None),
        ("not UTF-8", b'{"name": "\xff\xfe"}', None),
        ("a JSON list", b"[]", None),
        ("a JSON string", b'"order"', None),
        ("a JSON number", b"42", None),
        ("JSON null", b"null", None),
        ("an unknown field", b'{"zz_not_a_field": 1}', None),
    ]
    for name, field in body.items():
        for what, value in WRONG_VALUES:
            if is_wrong_for(field, what):
                rest = json.dumps({key: item for key, item in (valid or {}).items() if key != name})
                changed = rest[:-1] + (", " if len(rest) > 2 else "") + f'"{name}": {value}}}'
                bodies.append((f"{name} as {what}", changed.encode(), name))
    return bodies


def test_every_endpoint_that_takes_a_body_is_swept(app: Flask) -> None:
    swept = [name for name, _ in swept_endpoints(app)]
    assert len(swept) >= 25, swept
    assert all(name in DOCUMENTED for name in swept)
    assert sum(bool(body_fields(name)) for name in swept) >= 20


def test_every_endpoint_with_a_body_schema_has_a_valid_body_to_change(app: Flask, world: World) -> None:
    with_schema = {name for name, _ in swept_endpoints(app) if DOCUMENTED[name]["body"]}
    assert with_schema == set(valid_bodies(world)), "give the new endpoint a valid body in VALID_BODIES"
    with app.test_request_context():
        for name, body in valid_bodies(world).items():
            _schema_class(DOCUMENTED[name]["body"])().load(body)  # raises if the body is not valid


def test_malformed_bodies_are_4xx_problems_and_write_nothing(app: Flask, world: World) -> None:
    before = table_counts(app)
    failures: list[str] = []
    valid = valid_bodies(world)
    for name, rule in swept_endpoints(app):
        party = caller(world, name)
        path = path_of(rule, world.ids)
        for what, raw, field in malformed_bodies(body_fields(name), valid.get(name)):
            response = party.client.post(
                API + path,
                data=raw,
                headers=party.headers
                | {"Content-Type": "application/json", "Idempotency-Key": f"sweep-{uuid.uuid4()}"},
            )
            problem = response.get_json(silent=True) if response.mimetype.endswith("json") else None
            if not 400 <= response.status_code < 500 or response.mimetype != "application/problem+json":
                answer = response.get_data(as_text=True)[:200]
                failures.append(f"{name} ({what}): {response.status_code} {answer}")
            elif not isinstance(problem, dict) or problem.get("status") != response.status_code:
                failures.append(f"{name} ({what}): not a problem document: {problem}")
            elif field is not None and not str(problem.get("field")).startswith(field):
                failures.append(f"{name} ({what}): the problem names {problem.get('field')}: {problem}")
    assert failures == [], "\n".join(failures)
    assert table_counts(app) == before
