"""An order's page words its allocation and its history in the reader's language, from what the order
recorded in English (marketplace.order_notes), and quotes what no wording wrote as it was written."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import render_template_string
from pages_support import buy, pay_demo
from sqlalchemy import select

from api.context import ledger_service
from marketplace import order_store
from marketplace.models import Lot, LotReservation, MarketOrder
from offsets import regions
from web.pages.formatting import yuan
from web.pages.order_notes import shown_note


def _items(html: str, list_id: str) -> list[tuple[str, str]]:
    """The ``data-*`` attribute and the text of each item of the list ``list_id``."""
    body = re.search(rf'id="{list_id}">(.*?)</[uo]l>', html, re.S)
    assert body, list_id
    return [
        (attribute, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip())
        for attribute, text in re.findall(r'<li data-\w+="([^"]*)">(.*?)</li>', body.group(1), re.S)
    ]


def _order(demo_app, order_id: str) -> tuple[MarketOrder, list[LotReservation]]:
    with demo_app.app_context(), ledger_service().database.reading() as session:
        row = session.get(MarketOrder, order_id)
        holds = session.scalars(select(LotReservation).where(LotReservation.order_id == order_id)).all()
        session.expunge_all()
    return row, list(holds)


def test_a_fulfilled_order_s_allocation_and_history_are_worded_in_chinese_and_english(demo_app, client):
    order_path = buy(client, quantity_kg="25", name="王小明").headers["Location"]
    pay_demo(client, order_path)
    row, [hold] = _order(demo_app, order_path.rsplit("/", 1)[1])
    with demo_app.app_context(), ledger_service().database.reading() as session:
        lot = session.get(Lot, hold.lot_id)
        county_code, vintage, poverty = lot.county_code, lot.vintage, lot.poverty_county
    county = regions.division(county_code).name

    chinese = client.get(order_path).get_data(as_text=True)
    explanation = _items(chinese, "order-explanation")
    assert explanation[0][0] in ("allocated", "allocated_poverty_first")
    assert explanation[0][1].startswith("从符合条件的批次中分配 25 kg：")
    taken = [text for key, text in explanation if key.endswith("lot_taken")]
    mark = "，脱贫地区" if poverty else ""
    assert taken == [
        f"批次 {hold.lot_id}（{vintage} 年，{county} {county_code}{mark}）：" + taken[0].split("：", 1)[1]
    ]
    assert taken[0].endswith("取 25 kg。")
    history = _items(chinese, "order-events")
    assert [cause for cause, _ in history] == ["reserve", "payment_succeeded", "fulfil"]
    assert "预留库存 → 已预留，待支付 已在批次中预留库存。" in history[0][1]
    assert f"收到付款 → 已支付 收款 {yuan(row.price_fen)} 登记簿已确认发票付款，凭证号 " in history[1][1]
    assert history[2][1].endswith(f"交付 → 已完成（已注销） 已记入公开账本，序号 {row.fulfilment_seq}。")

    english = client.get(f"{order_path}?lang=en").get_data(as_text=True)
    assert _items(english, "order-explanation")[0][1].startswith("25 kg allocated from the matching lots")
    english_history = _items(english, "order-events")
    assert english_history[1][1].count(f"received {yuan(row.price_fen)}") == 1
    assert english_history[2][1].endswith(f"Recorded in the public ledger, entry {row.fulfilment_seq}.")


def test_an_expired_order_says_how_long_it_waited_unpaid(demo_app, client):
    order_path = buy(client, quantity_kg="10", name="王小明").headers["Location"]
    order_id = order_path.rsplit("/", 1)[1]
    _, [hold] = _order(demo_app, order_id)
    ttl_s = int((hold.expires_at - hold.reserved_at).total_seconds())
    with demo_app.app_context(), ledger_service().database.unit_of_work() as uow:
        later = datetime.now(UTC) + timedelta(seconds=ttl_s + 1)
        assert order_id in order_store.expire_due_orders(uow.session, later)
        uow.commit()
    history = _items(client.get(order_path).get_data(as_text=True), "order-events")
    assert history[-1] == (
        "reservation_expired",
        history[-1][1].split(" — ")[0] + f" — 预留到期 → 已过期 预留后 {ttl_s} 秒内未付款。",
    )


def test_a_line_no_wording_wrote_is_quoted_as_written_and_marked_english_only_when_it_is(demo_app):
    template = '{% from "order_notes.html" import order_note %}{{ order_note(note) }}'
    with demo_app.test_request_context("/"):
        typed = render_template_string(template, note=shown_note("买方来电要求退款"))
        provider = render_template_string(template, note=shown_note("Your card was declined."))
        worded = render_template_string(template, note=shown_note("stripe payment pi_123"))
    assert typed == '<span class="quoted">买方来电要求退款</span>'
    assert provider == '<span class="quoted" lang="en">Your card was declined.</span>'
    assert worded == "在线支付 pi_123（stripe）。"
