"""Every JSON body an API test receives has exactly the fields its route documents (OpenAPI).

The views build their bodies by hand and declare the marshmallow schema of what they return with
``api.openapi.document``. This check compares the two on every successful JSON response the API tests see:
a field the documentation names but the body lacks, or a field the body has that the documentation does
not name, is a broken contract for the registry's clients. A field documented as shown only to some roles
(``x-only-for`` in its metadata, an OpenAPI extension) may be absent. Nested schemas are compared level by
level; ``fields.Dict`` and untyped lists are free-form and not looked into.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, request
from flask.signals import request_finished
from marshmallow import Schema, class_registry, fields

from api.openapi import response_schema


def differences(schema: Schema, value: Any, path: str = "") -> list[str]:
    """Where ``value`` and ``schema`` disagree on field names, as ``path: missing/undocumented field``."""
    if not isinstance(value, dict):
        return [f"{path or 'body'}: an object was documented, {type(value).__name__} was returned"]
    documented = {
        field.data_key or name: field for name, field in schema.fields.items() if not field.load_only
    }
    found = [
        f"{path}{key}: documented, not returned"
        for key in sorted(set(documented) - set(value))
        if "x-only-for" not in documented[key].metadata
    ]
    found += [f"{path}{key}: returned, not documented" for key in sorted(set(value) - set(documented))]
    for key, field in documented.items():
        if key in value and value[key] is not None:
            found += _field_differences(field, value[key], f"{path}{key}")
    return found


def _field_differences(field: fields.Field, value: Any, path: str) -> list[str]:
    if isinstance(field, fields.Nested):
        nested = field.schema
        if field.many or getattr(nested, "many", False):
            return [
                d for index, item in enumerate(value) for d in differences(nested, item, f"{path}[{index}].")
            ]
        return differences(nested, value, f"{path}.")
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        return [
            d
            for index, item in enumerate(value)
            for d in _field_differences(field.inner, item, f"{path}[{index}]")
        ]
    return []


@contextmanager
def documented_responses(app: Flask) -> Iterator[None]:
    """Fail at the end of the block if any successful JSON response ``app`` sent broke its documentation."""
    broken: list[str] = []

    def check(sender: Flask, response: Response, **_extra: Any) -> None:
        rule = request.url_rule
        if rule is None or not rule.endpoint.startswith("api.") or not response.is_json:
            return
        if not 200 <= response.status_code < 300:
            return
        name = response_schema(rule.endpoint.split(".", 1)[1])
        if name is None:
            return
        for difference in differences(class_registry.get_class(name)(), response.get_json()):
            broken.append(f"{request.method} {rule.rule} ({name}): {difference}")

    request_finished.connect(check, app)
    try:
        yield
    finally:
        request_finished.disconnect(check, app)
    assert not broken, "responses that differ from their documentation:\n" + "\n".join(sorted(set(broken)))
