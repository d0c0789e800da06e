"""Marshmallow's nested validation messages, flattened into the problem document's ``errors`` list: every
message kept, each under the dotted path of the field it is about, ``_schema`` for one about the whole."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates_schema

from api.problems import field_errors


class RangeSchema(Schema):
    start = fields.Integer(required=True)
    end = fields.Integer(required=True)

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if data["end"] < data["start"]:
            raise ValidationError("a range ends before it starts")


class RetirementSchema(Schema):
    period = fields.String(required=True)
    ranges = fields.List(fields.Nested(RangeSchema), required=True)


def messages_of(schema: Schema, body: dict) -> dict:
    try:
        schema.load(body)
    except ValidationError as error:
        return error.messages  # type: ignore[return-value]
    raise AssertionError("the body was accepted")


def test_a_nested_list_item_is_named_by_its_index_and_a_whole_item_refusal_by_the_item():
    messages = messages_of(
        RetirementSchema(),
        {"ranges": [{"start": 1, "end": 2}, {"start": "x", "end": 2}, {"start": 5, "end": 4}]},
    )

    assert sorted(field_errors(messages), key=lambda item: item["field"]) == [
        {"field": "period", "message": "Missing data for required field."},
        {"field": "ranges.1.start", "message": "Not a valid integer."},
        {"field": "ranges.2._schema", "message": "a range ends before it starts"},
    ]


def test_messages_in_a_list_are_each_kept_under_the_field_they_are_listed_for():
    nested = {"items": [{"name": ["too long"]}, ["first", "second"], "third"]}

    assert field_errors(nested) == [
        {"field": "items.name", "message": "too long"},
        {"field": "items", "message": "first"},
        {"field": "items", "message": "second"},
        {"field": "items", "message": "third"},
    ]


def test_a_refusal_of_the_whole_body_is_named_schema():
    assert field_errors(["the body must name some activity"]) == [
        {"field": "_schema", "message": "the body must name some activity"}
    ]
    assert field_errors("not an object") == [{"field": "_schema", "message": "not an object"}]
    assert field_errors("not a number", "quantity_kg") == [
        {"field": "quantity_kg", "message": "not a number"}
    ]
