"""The micro-sink shop: a purchase, its order page, demo payment, the certificate, the anonymous registry
entry, bad quantities, the CSRF refusal and a resubmitted form."""

from __future__ import annotations

import json
import re

import pytest
from flask import render_template
from pages_support import buy, hidden, pay_demo, shop_form, text_of
from sqlalchemy import func, select
from tests_support import make_demo_app

from api.context import ledger_service
from ledger import limits
from marketplace.certificate_document import build_certificate_document
from marketplace.lots import LotFilters, available_kg_of, matching_lots
from marketplace.models import Certificate, Lot, LotReservation, MarketOrder
from web.pages.formatting import kg


def test_buying_25_kg_and_paying_demo_fulfils_the_order_with_a_certificate(client):
    placed = buy(client, quantity_kg="25", name="王小明")
    assert placed.status_code == 303
    order_path = placed.headers["Location"]
    reserved = client.get(order_path).get_data(as_text=True)
    assert 'data-state="reserved"' in reserved
    assert text_of(reserved, "order-quantity") == "25 kg"
    assert text_of(reserved, "order-price").endswith(" 元")
    assert "order-expiry" in reserved

    paid = pay_demo(client, order_path)
    assert paid.status_code == 303
    fulfilled = client.get(order_path).get_data(as_text=True)
    assert 'data-state="fulfilled"' in fulfilled
    certificate_path = f"/certificates/{certificate_id(fulfilled)}"
    certificate = client.get(certificate_path).get_data(as_text=True)
    assert "王小明" in text_of(certificate, "certificate-beneficiary")
    assert text_of(certificate, "certificate-quantity") == "25 kg"
    assert ".." in text_of(certificate, "certificate-ranges")
    assert re.search(r'href="/api/v1/certificates/[0-9a-f]+\.pdf"', certificate)
    assert re.search(r'href="/api/v1/certificates/[0-9a-f]+\.tlog-proof"', certificate)
    for link in re.findall(r'(?:href|src)="(/api/v1/certificates/[^"]+)"', certificate):
        assert client.get(link).status_code == 200, link


def test_the_certificate_page_shows_the_status_when_the_document_has_one(demo_app, client):
    order_path = buy(client, quantity_kg="5", name="状态测试").headers["Location"]
    pay_demo(client, order_path)
    identifier = certificate_id(client.get(order_path).get_data(as_text=True))
    with demo_app.app_context(), ledger_service().database.reading() as session:
        document = build_certificate_document(session, session.get(Certificate, identifier))
    document.pop("status", None)
    with demo_app.test_request_context(f"/certificates/{identifier}"):
        without = render_template("certificate.html", cert=document)
        valid = render_template("certificate.html", cert=document | {"status": "valid"})
        compensated = render_template("certificate.html", cert=document | {"status": "compensated_by_buffer"})

    assert 'id="certificate-status"' not in without
    assert "有效" in text_of(valid, "certificate-status")
    assert "由缓冲池补偿" in text_of(compensated, "certificate-status")


def certificate_id(html: str) -> str:
    match = re.search(r'id="certificate-link" href="/certificates/([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def test_an_anonymous_purchase_shows_as_anonymous_in_the_registry_but_named_on_its_certificate(client):
    order_path = buy(client, quantity_kg="3", name="隐名者甲").headers["Location"]
    pay_demo(client, order_path)
    certificate = client.get(f"/certificates/{certificate_id(client.get(order_path).get_data(as_text=True))}")

    registry = client.get("/registry").get_data(as_text=True)
    newest = registry.split('class="retirement"')[1]
    assert "匿名" in newest
    assert "隐名者甲" not in registry
    assert "隐名者甲" in certificate.get_data(as_text=True)


def test_a_pseudonym_and_a_public_name_show_in_the_registry_as_chosen(client):
    pay_demo(client, buy(client, quantity_kg="2", name="真名乙", display_name="绿叶").headers["Location"])
    newest = client.get("/registry").get_data(as_text=True).split('class="retirement"')[1]
    assert "绿叶" in newest
    assert "真名乙" not in newest

    pay_demo(client, buy(client, quantity_kg="2", name="公开丙", public="on").headers["Location"])
    newest = client.get("/registry").get_data(as_text=True).split('class="retirement"')[1]
    assert "公开丙" in newest


@pytest.mark.parametrize("quantity", ["0", "-1", "1.5", "", "abc"])
def test_a_bad_quantity_shows_the_form_again_with_the_error_and_keeps_what_was_typed(client, quantity):
    response = buy(client, quantity_kg=quantity, name="王小明", gift_message="生日快乐")
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert 'id="quantity_kg-error"' in html
    assert 'value="王小明"' in html
    assert "生日快乐" in html
    assert f'name="quantity_kg" inputmode="numeric" value="{quantity}"' in html


def test_a_missing_name_is_refused_with_the_field_named(client):
    response = buy(client, name="  ")
    assert response.status_code == 422
    assert 'id="name-error"' in response.get_data(as_text=True)


def test_more_than_the_stock_is_refused_on_the_quantity_field(client):
    response = buy(client, quantity_kg="900000000")
    assert response.status_code == 409
    assert 'id="quantity_kg-error"' in response.get_data(as_text=True)


def test_an_order_needing_more_lots_than_one_order_may_hold_is_refused_in_chinese(
    demo_app, client, monkeypatch
):
    """The stock is there but spread over more lots than the limit: a refusal the buyer can act on."""
    monkeypatch.setattr(limits, "MAX_RANGES_PER_ENTRY", 1)
    with demo_app.app_context(), ledger_service().database.reading() as session:
        lots = list(session.scalars(matching_lots(LotFilters(prefer_poverty_area=True))))
        available = [kg for kg in available_kg_of(session, lots).values() if kg > 0]
        orders_before = session.scalar(select(func.count()).select_from(MarketOrder))
    assert len(available) >= 2  # the demo lists several lots with stock

    response = buy(client, quantity_kg=str(sum(available)), name="分批购买")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请分成几笔较小的订单购买" in text_of(html, "quantity_kg-error")
    assert "smaller parts" not in html
    assert 'value="分批购买"' in html
    with demo_app.app_context(), ledger_service().database.reading() as session:
        assert session.scalar(select(func.count()).select_from(MarketOrder)) == orders_before


def test_a_post_without_the_csrf_token_is_refused_and_places_nothing(demo_app, client):
    form = shop_form(client)
    with demo_app.app_context(), ledger_service().database.reading() as session:
        before = session.scalar(select(func.count()).select_from(MarketOrder))
    missing = client.post("/shop", data={"request_key": form["request_key"], "quantity_kg": "5", "name": "x"})
    wrong = client.post("/shop", data=form | {"csrf_token": "forged", "quantity_kg": "5", "name": "x"})
    fresh_browser = demo_app.test_client().post("/shop", data=form | {"quantity_kg": "5", "name": "x"})

    assert missing.status_code == wrong.status_code == fresh_browser.status_code == 400
    assert "表单已失效" in missing.get_data(as_text=True)
    with demo_app.app_context(), ledger_service().database.reading() as session:
        assert session.scalar(select(func.count()).select_from(MarketOrder)) == before


def test_a_resubmitted_form_shows_the_first_order_instead_of_placing_another(client):
    form = shop_form(client) | {"quantity_kg": "4", "name": "重复提交"}
    first = client.post("/shop", data=form)
    second = client.post("/shop", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]


def test_paying_twice_with_the_same_form_fulfils_once(client):
    order_path = buy(client, quantity_kg="6").headers["Location"]
    html = client.get(order_path).get_data(as_text=True)
    form = {"csrf_token": hidden(html, "csrf_token"), "reference": hidden(html, "reference")}
    assert client.post(f"{order_path}/demo-payment", data=form).status_code == 303
    again = client.post(f"{order_path}/demo-payment", data=form)
    assert again.status_code in (303, 409)
    assert client.get(order_path).get_data(as_text=True).count('id="certificate-link"') == 1


def test_a_second_demo_payment_for_a_fulfilled_order_is_refused_in_the_reader_s_language(client):
    order_path = buy(client, quantity_kg="3").headers["Location"]
    # The order page in another tab, opened before the payment, offers another reference.
    other_tab = client.get(order_path).get_data(as_text=True)
    form = {"csrf_token": hidden(other_tab, "csrf_token"), "reference": "DEMO-OTHERTAB1"}
    assert hidden(other_tab, "reference") != form["reference"]
    assert pay_demo(client, order_path).status_code == 303

    refused = client.post(f"{order_path}/demo-payment", data=form)

    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert 'data-code="duplicate-payment"' in page
    assert text_of(page, "order-refusal").startswith("无法受理付款：该订单已由另一笔付款支付")
    assert client.get(order_path).get_data(as_text=True).count('id="certificate-link"') == 1


def test_without_demo_payments_the_order_page_shows_bank_transfer_instructions(tmp_path):
    app = make_demo_app(str(tmp_path), TANHUI_DEMO_PAYMENTS=False)
    client = app.test_client()
    order_path = buy(client).headers["Location"]
    html = client.get(order_path).get_data(as_text=True)
    assert 'id="invoice-instructions"' in html
    assert 'id="pay-demo"' not in html
    form = {"csrf_token": shop_form(client)["csrf_token"], "reference": "DEMO-1234"}
    assert client.post(f"{order_path}/demo-payment", data=form).status_code == 404
    with app.app_context():
        ledger_service().database.dispose()


def test_the_calculator_prefills_the_shop_with_the_kilograms_to_offset(client):
    result = client.get("/shop/calculator", query_string={"electricity_kwh": "1000", "flight_km": "500"})
    html = result.get_data(as_text=True)
    assert result.status_code == 200
    offset = text_of(html, "offset-kg").removesuffix(" kg").replace(",", "")
    assert int(offset) > 0
    shop = client.get("/shop", query_string={"quantity_kg": offset}).get_data(as_text=True)
    assert f'value="{offset}"' in shop


def test_the_calculator_refuses_a_negative_or_non_numeric_amount_on_its_field(client):
    response = client.get("/shop/calculator", query_string={"electricity_kwh": "-5", "flight_km": "abc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="electricity_kwh-error"' in html
    assert 'id="flight_km-error"' in html
    assert 'value="-5"' in html


@pytest.mark.parametrize(
    ("typed", "code", "message"),
    [
        ("abc", "number", "请填写数字。"),
        ("NaN", "number", "请填写数字。"),
        ("Infinity", "number", "请填写数字。"),
        ("-0.5", "not_negative", "不能为负数。"),
        ("1000000.000001", "too_large", "数值过大，请检查。"),
        ("1e7", "too_large", "数值过大，请检查。"),
        ("0.1234567", "too_precise", "最多保留 6 位小数。"),
    ],
)
def test_the_calculator_says_what_is_wrong_with_an_amount(client, typed, code, message):
    response = client.get("/shop/calculator", query_string={"electricity_kwh": typed, "flight_km": "10"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="electricity_kwh-error" role="alert" data-code="{code}"' in html
    assert text_of(html, "electricity_kwh-error") == message
    assert 'id="flight_km-error"' not in html


@pytest.mark.parametrize("typed", ["1,000,000", "1000000", "0", "0.123456", " 12 "])
def test_the_calculator_takes_an_amount_up_to_its_limit_and_agrees_with_the_api(client, typed):
    response = client.get("/shop/calculator", query_string={"electricity_kwh": typed, "flight_km": "10"})
    assert response.status_code == 200, text_of(response.get_data(as_text=True), "electricity_kwh-error")
    shown = text_of(response.get_data(as_text=True), "offset-kg")
    amount = typed.strip().replace(",", "")
    api = client.post("/api/v1/footprints/personal", json={"electricity_kwh": amount, "flight_km": "10"})
    assert api.status_code == 200, api.get_json()
    assert shown == kg(api.get_json()["offset_kg"])


def _order_facts(demo_app, order_path: str) -> tuple[MarketOrder, list[bool]]:
    """The order row and, for each lot it holds, whether the lot is in a former poverty county."""
    order_id = order_path.rsplit("/", 1)[1]
    with demo_app.app_context(), ledger_service().database.reading() as session:
        row = session.get(MarketOrder, order_id)
        poverty = session.scalars(
            select(Lot.poverty_county)
            .join(LotReservation, LotReservation.lot_id == Lot.id)
            .where(LotReservation.order_id == order_id)
        ).all()
        session.expunge(row)
    return row, list(poverty)


def test_a_gift_is_retired_for_the_recipient_with_its_message_and_only_a_gift_keeps_one(demo_app, client):
    gift_path = buy(client, quantity_kg="5", name="李受赠", gift="on", gift_message="生日快乐").headers[
        "Location"
    ]
    plain_path = buy(client, quantity_kg="5", name="王自用", gift_message="不是礼物").headers["Location"]

    gift, _ = _order_facts(demo_app, gift_path)
    plain, _ = _order_facts(demo_app, plain_path)
    assert (gift.reason, gift.gift_message, gift.beneficiary_name) == ("gift", "生日快乐", "李受赠")
    assert (plain.reason, plain.gift_message) == ("personal_footprint", None)
    page = client.get(gift_path).get_data(as_text=True)
    assert "<dt>用途</dt><dd>赠送</dd>" in page
    assert "<dt>赠言</dt><dd>生日快乐</dd>" in page
    assert "赠言" not in client.get(plain_path).get_data(as_text=True)


def test_poverty_area_only_takes_poverty_area_lots_and_either_way_they_come_first(demo_app, client):
    only, only_lots = _order_facts(
        demo_app, buy(client, quantity_kg="50", name="王小明", poverty_area_only="on").headers["Location"]
    )
    either, either_lots = _order_facts(
        demo_app, buy(client, quantity_kg="50", name="王小明").headers["Location"]
    )
    assert only_lots
    assert all(only_lots)
    only_sourcing, either_sourcing = json.loads(only.sourcing), json.loads(either.sourcing)
    assert (only_sourcing["poverty_area_only"], either_sourcing["poverty_area_only"]) == (True, False)
    assert only_sourcing["prefer_poverty_area"] is either_sourcing["prefer_poverty_area"] is True
    assert either_lots[0] is True
    assert only.allocation_explanation.startswith(
        "allocated 50 kg from the matching lots, poverty-area lots first"
    )
    assert either.allocation_explanation.startswith(
        "allocated 50 kg from the matching lots, poverty-area lots first"
    )


@pytest.mark.parametrize("field", ["name", "display_name"])
def test_a_name_may_be_200_characters_and_no_more(client, field):
    form = {"name": "王小明", field: "名" * 200}
    assert buy(client, **form).status_code == 303
    refused = buy(client, **(form | {field: "名" * 201}))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f'id="{field}-error" role="alert" data-code="too_long"' in html
    assert text_of(html, f"{field}-error") == "内容过长。"
