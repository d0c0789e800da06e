"""A NUL character anywhere in a request is a 400, on PostgreSQL (whose text cannot hold it) as on SQLite.

Before the guard, a NUL in a path reached a PostgreSQL query and came back as a 500; in a body it was
stored on SQLite. The demo registry gives the paths real objects to name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from flask.testing import FlaskClient
from tests_support import fresh_pg_schema, make_demo_app

from web.nul_guard import nul_field


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def client(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    with ExitStack() as stack:
        url = None
        if request.param == "pg":
            url = stack.enter_context(fresh_pg_schema(request.getfixturevalue("pg_base_url")))
        app = make_demo_app(str(tmp_path_factory.mktemp("nul")), database_url=url)
        stack.callback(app.extensions["tanhui.ledger"].database.dispose)
        yield app.test_client()


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/lots/L%00X", "lot_id"),  # the route variable that holds it
        ("/api/v1/certificates/%00", "certificate_id"),
        ("/api/v1/no-such%00thing", "path"),
        ("/api/v1/lots?county_code=51%0034", "county_code"),
        ("/api/v1/projects?q%00=1", "q\x00"),
        ("/api/v1/ledger/entries?start=0&limit=1%00", "limit"),
    ],
)
def test_a_nul_in_an_api_path_or_query_is_a_problem_naming_where(client, path, field):
    response = client.get(path)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field


@pytest.mark.parametrize("path", ["/projects/%00", "/projects?zone=%00", "/certificates/%00"])
def test_a_nul_in_a_page_address_is_a_400_page(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "出错了" in response.get_data(as_text=True)  # the site's own error page


def test_a_nul_in_a_json_body_is_named_by_its_path_and_nothing_is_ordered(client):
    body = {
        "kind": "individual",
        "quantity_kg": 10,
        "beneficiary": {"name": "王\x00芳", "public": True},
        "reason": "personal_footprint",
    }
    response = client.post("/api/v1/orders", json=body)
    assert response.status_code == 400
    problem = response.get_json()
    assert (problem["field"], problem["errors"][0]["field"]) == ("beneficiary.name", "beneficiary.name")
    assert "NUL" in problem["detail"]
    clean = client.post("/api/v1/orders", json={**body, "beneficiary": {"name": "王芳", "public": True}})
    assert clean.status_code == 201, clean.get_data(as_text=True)


def test_a_nul_in_a_form_field_is_a_400_page(client):
    response = client.post("/orders", data={"quantity_kg": "10", "beneficiary_name": "王\x00芳"})
    assert response.status_code == 400


def test_nul_field_names_the_first_text_that_holds_one():
    assert nul_field({"a": [{"b": "ok"}, {"c": "x\x00"}]}) == "a.1.c"
    assert nul_field({"a\x00": 1}) == "a\x00"
    assert nul_field(["ok", "\x00"]) == "1"
    assert nul_field("\x00") == "_schema"
    assert nul_field({"a": [1, 2.5, None, True, {"b": "fine"}]}) is None
