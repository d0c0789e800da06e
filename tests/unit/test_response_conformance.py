"""The API tests' check of responses against their documentation (tests/response_conformance.py)."""

from __future__ import annotations

from marshmallow import Schema, fields
from response_conformance import differences


class Line(Schema):
    lot_id = fields.String()
    quantity_kg = fields.Integer()


class Body(Schema):
    id = fields.String()
    lines = fields.List(fields.Nested(Line))
    first = fields.Nested(Line, allow_none=True)
    extra = fields.Dict()
    private = fields.String(metadata={"x-only-for": "the owner"})


def body(**changes):
    return {
        "id": "O-1",
        "lines": [{"lot_id": "L-1", "quantity_kg": 5}],
        "first": None,
        "extra": {"anything": 1},
    } | changes


def test_a_body_with_the_documented_fields_conforms():
    assert differences(Body(), body()) == []
    assert differences(Body(), body(private="shown to the owner")) == []


def test_missing_and_undocumented_fields_are_named_at_every_level():
    wrong = body(lines=[{"lot_id": "L-1", "quantity_kg": 5}, {"lot": "L-2", "quantity_kg": 1}], price=3)
    del wrong["id"]
    assert differences(Body(), wrong) == [
        "id: documented, not returned",
        "price: returned, not documented",
        "lines[1].lot_id: documented, not returned",
        "lines[1].lot: returned, not documented",
    ]
    assert differences(Body(), body(first={"lot_id": "L-1"})) == [
        "first.quantity_kg: documented, not returned"
    ]
    assert differences(Body(), [body()]) == ["body: an object was documented, list was returned"]
