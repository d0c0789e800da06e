"""Signing in to the pages and the account pages of each role: sign in and out, one message for a refused
sign-in, a disabled user signed out at once, CSRF, no open redirect, the limit on failed attempts, and what
each role sees (and that an organisation never sees another's)."""

from __future__ import annotations

import csv
import html
import io
import re
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pages_support import (
    PASSWORD,
    add_organisation,
    add_user,
    buy,
    hidden,
    organisation_named,
    pay_demo,
    place_organisation_order,
    sign_in,
    sign_out,
    text_of,
)
from sqlalchemy import select

from api.context import ledger_service
from api.users import disable_user
from marketplace import events, order_store
from marketplace.lots import LotFilters
from marketplace.models import Certificate, MarketOrder
from marketplace.orders import MAX_RESERVATION_TTL_S, OrderKind
from offsets import footprints
from web.pages.sign_in import safe_next
from web.scheduler import expire_reservations_job

REGISTRY = "四川省林草碳汇登记簿（示例）"
ENTERPRISE_A = "攀西示例钢铁有限公司（示例）"
ENTERPRISE_B = "德阳示例水泥有限公司（示例）"
WRONG = "电子邮箱或密码错误"


@pytest.fixture(scope="module")
def people(demo_app) -> dict[str, str]:
    """One user per role, by role: their e-mail addresses (all with :data:`PASSWORD`)."""
    registry = organisation_named(demo_app, REGISTRY)
    organiser = add_organisation(demo_app, "蓉城会展服务有限公司（测试）", "organiser")
    users = {
        "registry_admin": ("admin@registry.example.cn", registry, "管理员王"),
        "reviewer": ("reviewer@registry.example.cn", registry, "审核员李"),
        "enterprise_buyer": ("buyer@steel.example.cn", organisation_named(demo_app, ENTERPRISE_A), "采购张"),
        "enterprise_buyer_b": (
            "buyer@cement.example.cn",
            organisation_named(demo_app, ENTERPRISE_B),
            "采购赵",
        ),
        "event_organiser": ("events@expo.example.cn", organiser, "会展刘"),
        "individual": ("someone@example.cn", None, "个人陈"),
    }
    for key, (email, organisation_id, name) in users.items():
        add_user(demo_app, email, key.removesuffix("_b"), organisation_id, name)
    return {key: email for key, (email, _, _) in users.items()}


def test_signing_in_shows_the_name_in_the_header_and_signing_out_ends_the_session(client, people):
    assert 'id="sign-in-link"' in client.get("/").get_data(as_text=True)

    signed_in = sign_in(client, people["enterprise_buyer"])
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/account"
    page = client.get("/").get_data(as_text=True)
    assert text_of(page, "account-link") == "采购张"
    assert 'id="sign-out"' in page
    account_response = client.get("/account")
    assert account_response.headers["Cache-Control"] == "no-store"
    account = account_response.get_data(as_text=True)
    assert text_of(account, "account-organisation") == ENTERPRISE_A
    assert 'data-role="enterprise_buyer"' in account

    signed_out = sign_out(client)
    assert signed_out.status_code == 303
    assert 'id="sign-in-link"' in client.get("/").get_data(as_text=True)
    assert client.get("/account").status_code == 302


def test_a_wrong_password_and_an_unknown_address_get_the_same_one_message_with_401(client, people):
    wrong = sign_in(client, people["individual"], password="not the password at all")
    unknown = sign_in(client, "nobody@example.cn", password="not the password at all")

    for response, email in ((wrong, people["individual"]), (unknown, "nobody@example.cn")):
        html = response.get_data(as_text=True)
        assert response.status_code == 401
        assert html.count(WRONG) == 1
        assert text_of(html, "sign-in-error") == WRONG
        assert f'value="{email}"' in html
        assert "not the password at all" not in html
    assert client.get("/account").status_code == 302


def test_the_refusal_is_in_english_for_an_english_reader(client, people):
    client.get("/login?lang=en")
    html = sign_in(client, people["individual"], password="wrong wrong wrong").get_data(as_text=True)
    assert "wrong e-mail address or password" in html.lower()


def test_a_disabled_user_is_signed_out_at_the_next_request(demo_app, client):
    add_user(
        demo_app, "leaving@steel.example.cn", "enterprise_buyer", organisation_named(demo_app, ENTERPRISE_A)
    )
    sign_in(client, "leaving@steel.example.cn")
    assert client.get("/account/statement").status_code == 200

    with demo_app.app_context(), ledger_service().database.unit_of_work() as uow:
        disable_user(uow.session, "leaving@steel.example.cn", now=datetime.now(UTC))
        uow.commit()

    refused = client.get("/account/statement")
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/login?next=")
    assert 'id="sign-in-link"' in client.get("/").get_data(as_text=True)
    assert sign_in(client, "leaving@steel.example.cn").status_code == 401


def test_signing_in_renews_the_session_and_its_csrf_token(client, people):
    before = hidden(client.get("/login").get_data(as_text=True), "csrf_token")
    sign_in(client, people["individual"])
    after = hidden(client.get("/account").get_data(as_text=True), "csrf_token")
    assert before != after


def test_sign_in_and_sign_out_without_the_csrf_token_are_refused(client, people):
    client.get("/login")
    refused = client.post("/login", data={"email": people["individual"], "password": PASSWORD})
    assert refused.status_code == 400
    assert client.get("/account").status_code == 302

    sign_in(client, people["individual"])
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example/x",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_a_next_address_off_this_site_is_replaced_by_the_account_page(client, people, target):
    response = sign_in(client, people["individual"], next_path=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"


def test_a_local_next_address_is_where_signing_in_leads(client, people):
    asked = client.get("/account/statement?x=1")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/login?next=/account/statement?x%3D1"
    next_path = hidden(client.get(asked.headers["Location"]).get_data(as_text=True), "next")
    assert next_path == "/account/statement?x=1"
    assert sign_in(client, people["enterprise_buyer"], next_path=next_path).headers["Location"] == next_path


def test_safe_next_keeps_only_local_paths():
    assert safe_next("/registry?page=2") == "/registry?page=2"
    for target in ("http://evil", "//evil", "/\\evil", "/\n/evil", None, "x" * 600, "evil"):
        assert safe_next(target) == "/account"


def test_five_failures_in_the_window_refuse_the_sixth_attempt_even_with_the_right_password(demo_app, client):
    add_user(demo_app, "target@example.cn", "individual", None)
    for _ in range(5):
        assert sign_in(client, "target@example.cn", password="guess guess guess").status_code == 401

    throttled = sign_in(client, "Target@Example.cn ", password=PASSWORD)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "15 分钟" in text_of(throttled.get_data(as_text=True), "sign-in-error")
    assert client.get("/account").status_code == 302
    # Another address is not affected.
    add_user(demo_app, "bystander@example.cn", "individual", None)
    assert sign_in(demo_app.test_client(), "bystander@example.cn").status_code == 303


# --- the account pages and their roles ------------------------------------------------------------------

ROLE_PAGES = {
    "/registry-admin/invoices": "registry_admin",
    "/account/statement": "enterprise_buyer",
    "/account/statement.csv": "enterprise_buyer",
    "/account/events": "event_organiser",
    "/account/orders": "individual",
}


@pytest.mark.parametrize("path", sorted(ROLE_PAGES))
def test_an_account_page_sends_a_visitor_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/login?next={path}")


@pytest.mark.parametrize("path", sorted(ROLE_PAGES))
def test_an_account_page_is_forbidden_to_every_other_role(demo_app, people, path):
    for role in ("registry_admin", "reviewer", "enterprise_buyer", "event_organiser", "individual"):
        client = demo_app.test_client()
        sign_in(client, people[role])
        response = client.get(path)
        if role == ROLE_PAGES[path]:
            assert response.status_code == 200, (path, role)
        else:
            assert response.status_code == 403, (path, role)
            assert 'id="forbidden"' in response.get_data(as_text=True)


def test_the_registry_admin_confirms_an_invoice_and_the_order_is_fulfilled_with_a_certificate(
    demo_app, client, people
):
    order_path = buy(demo_app.test_client(), quantity_kg="7", name="发票测试").headers["Location"]
    order_id = order_path.rsplit("/", 1)[1]
    sign_in(client, people["registry_admin"])
    listing = client.get("/registry-admin/invoices").get_data(as_text=True)
    assert f'id="awaiting-{order_id}"' in listing
    row = listing.split(f'id="awaiting-{order_id}"')[1].split("</tr>")[0]
    amount = re.search(r'name="amount"[^>]*value="([0-9.]+)"', row).group(1)

    confirmed = client.post(
        f"/registry-admin/invoices/{order_id}",
        data={
            "csrf_token": hidden(listing, "csrf_token"),
            "reference": "BANK-20261205-0001",
            "amount": amount,
            "unit": "yuan",
        },
    )
    assert confirmed.status_code == 303
    result = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert f'id="confirmation" data-order="{order_id}" data-state="fulfilled"' in result
    assert text_of(result, "confirmed-state") == "已完成（已注销）"
    certificate = re.search(r'id="certificate-link" href="(/certificates/[0-9a-f]+)"', result).group(1)
    assert "发票测试" in client.get(certificate).get_data(as_text=True)
    assert f'id="awaiting-{order_id}"' not in result
    assert 'data-state="fulfilled"' in client.get(order_path).get_data(as_text=True)

    # The same confirmation again (a double click) records nothing new and shows the same result.
    again = client.post(
        f"/registry-admin/invoices/{order_id}",
        data={
            "csrf_token": hidden(result, "csrf_token"),
            "reference": "BANK-20261205-0001",
            "amount": amount,
        },
    )
    assert again.status_code == 303
    with demo_app.app_context(), ledger_service().database.reading() as session:
        assert len(session.scalars(select(Certificate.id).where(Certificate.order_id == order_id)).all()) == 1


def test_a_wrong_amount_or_reference_is_refused_and_the_order_stays_reserved(demo_app, client, people):
    order_id = (
        buy(demo_app.test_client(), quantity_kg="3", name="金额测试").headers["Location"].rsplit("/", 1)[1]
    )
    sign_in(client, people["registry_admin"])
    token = hidden(client.get("/registry-admin/invoices").get_data(as_text=True), "csrf_token")
    with demo_app.app_context(), ledger_service().database.reading() as session:
        price_fen = session.get(MarketOrder, order_id).price_fen

    def confirm(**form: str):
        return client.post(f"/registry-admin/invoices/{order_id}", data={"csrf_token": token} | form)

    wrong_amount = confirm(reference="BANK-X1", amount="1", unit="fen")
    assert wrong_amount.status_code == 422
    refusal = wrong_amount.get_data(as_text=True)
    assert 'data-code="invalid-order"' in refusal
    # Worded in the page's language; the domain's own message follows, marked as English.
    assert html.unescape(text_of(refusal, "invoice-refusal")) == (
        "无法受理付款：收到的金额与订单价格不符，请核对后重新填写。"
        f" (a payment of 1 fen does not match the order's price of {price_fen} fen)"
    )
    assert '<span class="refusal-detail" lang="en">(a payment of 1 fen' in refusal
    bad_reference = confirm(reference="=cmd|evil", amount="1.00")
    assert bad_reference.status_code == 422
    assert "流水号只能包含" in bad_reference.get_data(as_text=True)
    too_precise = confirm(reference="BANK-X2", amount="1.005")
    assert too_precise.status_code == 422
    assert "最多保留两位小数" in too_precise.get_data(as_text=True)
    with demo_app.app_context(), ledger_service().database.reading() as session:
        assert session.get(MarketOrder, order_id).state == "reserved"


def test_a_second_payment_for_a_paid_order_is_refused_as_a_duplicate_in_the_reader_s_language(
    demo_app, client, people
):
    order_id = (
        buy(demo_app.test_client(), quantity_kg="2", name="重复付款").headers["Location"].rsplit("/", 1)[1]
    )
    sign_in(client, people["registry_admin"])
    listing = client.get("/registry-admin/invoices").get_data(as_text=True)
    row = listing.split(f'id="awaiting-{order_id}"')[1].split("</tr>")[0]
    form = {
        "csrf_token": hidden(listing, "csrf_token"),
        "amount": re.search(r'name="amount"[^>]*value="([0-9.]+)"', row).group(1),
        "unit": "yuan",
    }
    path = f"/registry-admin/invoices/{order_id}"
    assert client.post(path, data=form | {"reference": "BANK-D1"}).status_code == 303

    second = client.post(path, data=form | {"reference": "BANK-D2"})
    assert second.status_code == 409
    assert 'data-code="duplicate-payment"' in second.get_data(as_text=True)
    assert text_of(second.get_data(as_text=True), "invoice-refusal") == (
        "无法受理付款：该订单已由另一笔付款支付，这笔付款没有记入订单，应退还付款人。"
        " (the order is already fulfilled by another payment; refund this one at the provider)"
    )
    in_english = client.post(f"{path}?lang=en", data=form | {"reference": "BANK-D2"})
    assert in_english.status_code == 409
    assert "has already been paid by another payment" in text_of(
        in_english.get_data(as_text=True), "invoice-refusal"
    )
    with demo_app.app_context(), ledger_service().database.reading() as session:
        assert len(session.scalars(select(Certificate.id).where(Certificate.order_id == order_id)).all()) == 1


def test_an_enterprise_order_confirmed_in_fen_reaches_the_enterprise_statement(demo_app, client, people):
    enterprise = organisation_named(demo_app, ENTERPRISE_A)
    order_id = place_organisation_order(demo_app, enterprise, 40)
    with demo_app.app_context(), ledger_service().database.reading() as session:
        price_fen = session.get(MarketOrder, order_id).price_fen
    buyer = demo_app.test_client()
    sign_in(buyer, people["enterprise_buyer"])
    held_before = text_of(buyer.get("/account/statement").get_data(as_text=True), "held-total")

    sign_in(client, people["registry_admin"])
    listing = client.get("/registry-admin/invoices").get_data(as_text=True)
    assert ENTERPRISE_A in listing.split(f'id="awaiting-{order_id}"')[1].split("</tr>")[0]
    response = client.post(
        f"/registry-admin/invoices/{order_id}",
        data={
            "csrf_token": hidden(listing, "csrf_token"),
            "reference": "BANK-ENT-0001",
            "amount": str(price_fen),
            "unit": "fen",
        },
    )
    assert response.status_code == 303

    statement = buyer.get("/account/statement").get_data(as_text=True)
    assert text_of(statement, "held-total") != held_before
    assert f'data-order="{order_id}"' in statement
    order_row = statement.split(f'data-order="{order_id}"')[1].split("</tr>")[0]
    assert 'data-state="fulfilled"' in order_row


def test_an_enterprise_sees_its_own_statement_and_orders_and_never_another_s(demo_app, people):
    order_of_b = place_organisation_order(demo_app, organisation_named(demo_app, ENTERPRISE_B), 5)
    order_of_a = place_organisation_order(demo_app, organisation_named(demo_app, ENTERPRISE_A), 5)
    client_a = demo_app.test_client()
    sign_in(client_a, people["enterprise_buyer"])

    page = client_a.get("/account/statement").get_data(as_text=True)
    assert text_of(page, "statement-organisation").startswith(ENTERPRISE_A)
    assert ENTERPRISE_B not in page
    assert order_of_a in page
    assert order_of_b not in page
    assert 'id="holdings"' in page  # the demo sold credits to every enterprise
    assert 'id="history"' in page

    download = client_a.get("/account/statement.csv")
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("text/csv")
    text = download.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["section", "seq", "time", "movement"]
    assert {row[0] for row in rows[1:]} <= {"holding", "history"}
    assert ENTERPRISE_B not in text
    # The page never takes an organisation from the request: B's id in the query changes nothing.
    b_id = organisation_named(demo_app, ENTERPRISE_B)
    again = client_a.get(f"/account/statement?organisation_id={b_id}").get_data(as_text=True)
    assert ENTERPRISE_B not in again


def test_an_event_organiser_sees_its_events_with_their_public_pages_and_not_others(demo_app, people):
    organiser = organisation_named(demo_app, "蓉城会展服务有限公司（测试）")
    other = add_organisation(demo_app, "别家会展有限公司（测试）", "organiser")
    ours = _event(demo_app, organiser, "蓉城科技博览会（测试）")
    theirs = _event(demo_app, other, "别家年会（测试）")
    client = demo_app.test_client()
    sign_in(client, people["event_organiser"])

    page = client.get("/account/events").get_data(as_text=True)
    assert f'href="/events/{ours}"' in page
    assert "蓉城科技博览会（测试）" in page
    assert f'href="/events/{theirs}"' not in page
    assert "别家年会（测试）" not in page
    assert client.get(f"/events/{ours}").status_code == 200


def _event(demo_app, organisation_id: int, name: str) -> int:
    details = events.EventDetails(
        name=name, starts_on=date(2026, 9, 1), ends_on=date(2026, 9, 2), place="成都市", attendees=800
    )
    activities = footprints.EventInputs(attendees=800, days=2, rail_passenger_km=Decimal(50_000))
    with demo_app.app_context(), ledger_service().database.unit_of_work() as uow:
        event = events.register_event(
            uow.session,
            organisation_id=organisation_id,
            details=details,
            activities=activities,
            calculator_input={"rail_passenger_km": "50000"},
            factors=footprints.packaged(),
            now=datetime.now(UTC),
        )
        event_id = event.id
        uow.commit()
    return event_id


def test_an_individual_is_told_where_their_orders_are(client, people):
    sign_in(client, people["individual"])
    page = client.get("/account/orders").get_data(as_text=True)
    assert "订单链接" in text_of(page, "individual-orders-note")
    assert 'id="no-orders"' in page
    assert 'href="/shop"' in page


def test_an_individuals_orders_placed_while_signed_in_are_listed_for_them_only(demo_app, client, people):
    anonymous = demo_app.test_client()
    before = buy(anonymous, name="匿名买家")
    sign_in(client, people["individual"])

    placed = buy(client, quantity_kg="30", name="个人陈")

    assert placed.status_code == 303
    order_id = placed.headers["Location"].rsplit("/", 1)[1]
    assert pay_demo(client, f"/orders/{order_id}").status_code == 303
    page = client.get("/account/orders").get_data(as_text=True)
    assert f'data-order="{order_id}"' in page
    assert 'class="certificate-link"' in page
    assert before.headers["Location"].rsplit("/", 1)[1] not in page
    other = demo_app.test_client()
    add_user(demo_app, "another@example.cn", "individual", None)
    sign_in(other, "another@example.cn")
    assert order_id not in other.get("/account/orders").get_data(as_text=True)


def test_a_late_transfer_for_an_expired_order_is_confirmed_and_the_order_fulfilled(demo_app, client, people):
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with demo_app.app_context(), ledger_service().database.unit_of_work() as uow:
        row = order_store.place_and_reserve(
            uow.session,
            order_store.NewOrder(
                kind=OrderKind.INDIVIDUAL,
                quantity_kg=9,
                buyer_organisation_id=None,
                buyer_display_name="匿名",
                beneficiary_name="迟到转账",
                beneficiary_public=False,
                reason="personal_footprint",
                details="",
                filters=LotFilters(),
            ),
            now=an_hour_ago,
            ttl_s=60,
        )
        order_id = row.id
        uow.commit()
    with demo_app.app_context():
        assert order_id in expire_reservations_job(ledger_service())
    sign_in(client, people["registry_admin"])
    listing = client.get("/registry-admin/invoices").get_data(as_text=True)
    row_html = listing.split(f'id="awaiting-{order_id}"')[1].split("</tr>")[0]
    assert 'data-state="expired"' in row_html
    amount = re.search(r'name="amount"[^>]*value="([0-9.]+)"', row_html).group(1)

    confirmed = client.post(
        f"/registry-admin/invoices/{order_id}",
        data={
            "csrf_token": hidden(listing, "csrf_token"),
            "reference": "BANK-LATE-0001",
            "amount": amount,
            "unit": "yuan",
        },
    )

    assert confirmed.status_code == 303
    assert 'data-state="fulfilled"' in client.get(f"/orders/{order_id}").get_data(as_text=True)


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(demo_app, client, people):
    other_device = demo_app.test_client()
    sign_in(client, people["individual"])
    sign_in(other_device, people["individual"])
    assert other_device.get("/account").status_code == 200
    form = client.get("/account/password").get_data(as_text=True)
    token = hidden(form, "csrf_token")

    mismatch = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "x" * 12,
            "confirm_password": "y",
        },
    )
    wrong = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "not the password",
            "new_password": "新密码-2027-abcdef",
            "confirm_password": "新密码-2027-abcdef",
        },
    )
    time.sleep(1.1)  # sessions are stamped to the second; the other device signed in before the change
    changed = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "新密码-2027-abcdef",
            "confirm_password": "新密码-2027-abcdef",
        },
    )

    assert mismatch.status_code == 422
    assert 'data-field="confirm_password"' in mismatch.get_data(as_text=True)
    assert wrong.status_code == 422
    assert 'data-field="current_password"' in wrong.get_data(as_text=True)
    assert changed.status_code == 303
    assert 'id="password-changed"' in client.get(changed.headers["Location"]).get_data(as_text=True)
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302
    assert sign_in(demo_app.test_client(), people["individual"]).status_code == 401
    assert (
        sign_in(demo_app.test_client(), people["individual"], password="新密码-2027-abcdef").status_code
        == 303
    )


def test_the_invoices_awaiting_payment_list_reserved_orders_first_then_expired_each_oldest_first(
    demo_app, client, people
):
    expired_id = (
        buy(demo_app.test_client(), quantity_kg="2", name="过期订单").headers["Location"].rsplit("/")[-1]
    )
    with demo_app.app_context(), ledger_service().database.unit_of_work() as uow:
        later = datetime.now(UTC) + timedelta(seconds=MAX_RESERVATION_TTL_S + 1)
        assert expired_id in order_store.expire_due_orders(uow.session, later)
        uow.commit()
    enterprise_id = place_organisation_order(demo_app, organisation_named(demo_app, ENTERPRISE_A), 1_000)
    individual_id = (
        buy(demo_app.test_client(), quantity_kg="3", name="待付订单").headers["Location"].rsplit("/")[-1]
    )
    last_id = (
        buy(demo_app.test_client(), quantity_kg="4", name="待付订单").headers["Location"].rsplit("/")[-1]
    )
    sign_in(client, people["registry_admin"])

    listing = client.get("/registry-admin/invoices").get_data(as_text=True)

    rows = dict(re.findall(r'<tr id="awaiting-([^"]+)">(.*?)</tr>', listing, re.S))
    order = list(rows)
    placed = [order.index(enterprise_id), order.index(individual_id), order.index(last_id)]
    assert placed == sorted(placed)
    assert placed[-1] < order.index(expired_id)
    states = [re.search(r'data-state="(\w+)"', cells).group(1) for cells in rows.values()]
    assert states == sorted(states, reverse=True)  # every reserved order before every expired one
    enterprise = re.sub(r"<[^>]+>", "|", rows[enterprise_id])
    assert "|企业履约|" in enterprise
    assert f"|{ENTERPRISE_A}|" in enterprise  # the organisation, not the buyer's display name
    assert "|微碳汇|" in re.sub(r"<[^>]+>", "|", rows[individual_id])
    assert 'data-state="expired"' in rows[expired_id]
