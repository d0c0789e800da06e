"""Every GET endpoint, asked with wrong path values and wrong query values: never a 5xx, and every
refusal a problem, on SQLite and on PostgreSQL.

The endpoints come from the app's URL map and the query fields from each endpoint's documented
schema, so that a new endpoint or parameter is swept without being listed here. The registry is the
demo's, so that a path can name objects that exist; a registry administrator's key asks, so that a
role is not what refuses. The wrong values: negative, fractional and huge numbers (beyond 64 bits,
where SQLite's driver and PostgreSQL's integers stop), empty text, 5,000 characters, ``NaN``,
a boolean, and a query parameter given twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import select
from tests_support import fresh_pg_schema, make_demo_app

from api.auth import create_api_key
from api.openapi import _DOCS as DOCUMENTED
from api.openapi import _schema_class
from marketplace.models import Certificate, Lot, MarketOrder
from offsets.projects import register_organisation

WRONG = ["-1", "1.5", "99999999999999999999999", "", "长" * 5_000, "NaN", "true"]


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def registry(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, dict[str, str]]]:
    with ExitStack() as stack:
        url = None
        if request.param == "pg":
            url = stack.enter_context(fresh_pg_schema(request.getfixturevalue("pg_base_url")))
        app = make_demo_app(str(tmp_path_factory.mktemp("sweep")), database_url=url)
        database = app.extensions["tanhui.ledger"].database
        stack.callback(database.dispose)
        with database.unit_of_work() as uow:
            organisation = register_organisation(uow.session, "登记中心（测试）", "registry")
            _, key = create_api_key(uow.session, organisation.id, "registry_admin", "sweep key")
            uow.commit()
        yield app, {"Authorization": f"Bearer {key}"}


def existing(app: Flask) -> dict[str, str]:
    """A value that exists for every path variable of the API, read from the demo registry."""
    database = app.extensions["tanhui.ledger"].database
    with database.reading() as session:
        lot = session.scalar(select(Lot.id).order_by(Lot.id))
        order = session.scalar(select(MarketOrder.id).order_by(MarketOrder.id))
        certificate = session.scalar(select(Certificate.id).order_by(Certificate.id))
    values = {"lot_id": lot, "order_id": order, "certificate_id": certificate, "seq": "0"}
    values |= {"methodology_id": "AR-CM-001-V01", "quote_id": "Q-0", "preorder_id": "P-0"}
    return {name: str(value) for name, value in values.items()}


def get_routes(app: Flask) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and "GET" in (rule.methods or ()):
            routes.append((rule.endpoint.split(".", 1)[1], rule.rule))
    return sorted(routes)


def path_variables(rule: str) -> list[tuple[str, str]]:
    return re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", rule)


def fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: quote(values.get(m.group(1), "1"), safe=""), rule)


def query_fields(name: str) -> list[str]:
    query = DOCUMENTED.get(name, {}).get("query")
    if query is None:
        return []
    return sorted(field.data_key or key for key, field in _schema_class(query)().fields.items())


def asked(app: Flask) -> Iterator[tuple[str, str]]:
    """(endpoint, the path and query asked): each path variable wrong in turn, then each query field."""
    good = existing(app)
    for name, rule in get_routes(app):
        for _converter, variable in path_variables(rule):
            for value in WRONG:
                if value:  # an empty path segment is another route
                    yield name, fill(rule, {**good, variable: value})
        path = fill(rule, good)
        for field in query_fields(name):
            for value in WRONG:
                yield name, f"{path}?{field}={quote(value)}"
            yield name, f"{path}?{field}=1&{field}=2"


def test_the_sweep_reaches_every_get_endpoint_and_parameter(registry):
    app, _ = registry
    names = {name for name, _ in asked(app)}
    with_parameters = {name for name, rule in get_routes(app) if path_variables(rule) or query_fields(name)}
    assert names == with_parameters
    assert len(names) >= 30
    assert len(list(asked(app))) >= 400


def test_wrong_paths_and_queries_are_never_a_server_error(registry):
    app, headers = registry
    client = app.test_client()
    failures: list[str] = []
    for name, url in asked(app):
        response = client.get(url, headers=headers)
        answer: Any = response.get_data(as_text=True)[:160]
        if response.status_code >= 500:
            failures.append(f"{name} {url[:120]}: {response.status_code} {answer}")
        elif response.status_code >= 400 and response.mimetype != "application/problem+json":
            failures.append(f"{name} {url[:120]}: {response.status_code} as {response.mimetype}")
    assert failures == [], "\n".join(failures)
