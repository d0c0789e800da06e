"""The public pages answer with their key content: portal, project registry, project, registry, ledger."""

from __future__ import annotations

import re

import pytest
from pages_support import text_of
from sqlalchemy import func, select
from tests_support import ORIGIN

from api.context import ledger_service
from ledger.models import Batch, Entry
from offsets.models import Project
from web.pages.public_figures import methodology_rules


def test_the_portal_shows_the_totals_and_the_five_zones_with_their_project_counts(demo_app, client):
    with demo_app.app_context(), ledger_service().database.reading() as session:
        projects = session.scalar(select(func.count()).select_from(Project))
        issued_kg = session.scalar(select(func.sum(Batch.quantity_kg)))
    response = client.get("/")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert text_of(html, "total-projects") == str(projects)
    whole_t = f"{issued_kg // 1000:,}"
    assert text_of(html, "total-issued").startswith(whole_t)
    assert re.fullmatch(r"\d+\.\d%", text_of(html, "poverty-share"))
    for zone in ("川西南发展片", "川西北发展片", "川东北发展片", "川南发展片", "川中发展片"):
        assert zone in html
    assert "<title>首页 · " in html
    summary = re.search(r'id="poverty-summary" href="([^"]+)"', html)
    if summary is not None:  # the public poverty summary of the sales API, when it is there
        assert client.get(summary.group(1)).status_code == 200


def test_the_project_registry_lists_every_public_project_and_filters_by_zone_and_type(client):
    everything = client.get("/projects").get_data(as_text=True)
    south = client.get("/projects", query_string={"zone": "川南"}).get_data(as_text=True)
    bamboo = client.get("/projects", query_string={"type": "bamboo_management"}).get_data(as_text=True)

    assert everything.count('class="project-row"') == 12
    zones = re.findall(r'class="project-row" data-zone="([^"]+)"', south)
    assert zones
    assert set(zones) == {"川南"}
    assert 0 < bamboo.count('class="project-row"') < 12
    assert "竹林经营" in bamboo
    assert "脱贫县" in everything
    assert " 亩" in everything


def test_an_unknown_filter_value_is_ignored_rather_than_refused(client):
    response = client.get("/projects", query_string={"zone": "火星", "type": "moon"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="project-row"') == 12


def test_a_project_page_shows_its_batches_methodology_and_issued_and_retired_volumes(client):
    response = client.get("/projects/LS01")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "盐源县碳汇造林项目（示例）" in html
    assert "LS01-2019" in html
    assert "AR-CM" in html or "方法学" in html
    assert text_of(html, "project-issued").endswith(" t")
    assert client.get("/projects/NOPE").status_code == 404


def test_a_project_page_says_where_its_methodology_s_rules_come_from(client):
    html = client.get("/projects/LS01").get_data(as_text=True)  # afforestation: AR-CM-001-V01

    assert "AR-CM-001-V01 碳汇造林项目方法学" in html
    assert 'id="rules-leakage" data-applied="fixed"' in html
    assert text_of(html, "rules-leakage") == "方法学规定为 0 t CO2e（AR-CM-001-V01），不由监测报告填报。"
    assert 'id="rules-uncertainty" data-applied="discount_table"' in html
    assert text_of(html, "rules-uncertainty") == "按 CDM-AR-TOOL14 的折扣表扣减。"
    consulted = html.split('id="rules-consulted"')[1].split("</ul>")[0]
    assert (
        '不确定性 · AR-CM-001-V01：未找到 — <span class="quoted" lang="en">Uncertainty / sampling-precision '
        "deduction"
    ) in consulted
    # A citation with Chinese in it is quoted, not marked as English.
    assert '已找到 — <span class="quoted">AR-CM-001-V01 碳汇造林项目方法学 (2013)' in consulted
    assert "不确定性 · CDM-AR-TOOL14：已找到 — " in consulted
    assert 'href="/api/v1/methodologies/AR-CM-001-V01"' in html

    in_english = client.get("/projects/LS01?lang=en").get_data(as_text=True)
    assert "AR-CM-001-V01 Carbon sink afforestation methodology" in in_english
    assert text_of(in_english, "rules-uncertainty") == "Deducted by the discount table of CDM-AR-TOOL14."


@pytest.mark.parametrize(
    ("code", "leakage", "uncertainty"),
    [("AB01", "stated_in_report", "none"), ("AB02", "stated_in_report", "allowable_excess")],
)
def test_a_project_page_shows_a_methodology_without_a_cited_rule_as_such(client, code, leakage, uncertainty):
    html = client.get(f"/projects/{code}").get_data(as_text=True)

    assert f'id="rules-leakage" data-applied="{leakage}"' in html
    assert text_of(html, "rules-leakage") == "未找到方法学的规定，由监测报告填报并经核查。"
    assert f'id="rules-uncertainty" data-applied="{uncertainty}"' in html


def test_the_registry_is_paginated_and_never_shows_a_private_individuals_name(demo_app, client):
    with demo_app.app_context(), ledger_service().database.reading() as session:
        retirements = session.scalar(select(func.count()).where(Entry.kind == "retire"))
    first = client.get("/registry").get_data(as_text=True)
    last_page = -(-retirements // 20)
    last = client.get("/registry", query_string={"page": last_page}).get_data(as_text=True)

    assert first.count('class="retirement"') == 20
    assert last.count('class="retirement"') == retirements - 20 * (last_page - 1)
    assert "匿名" in first
    # The demo retires for 张示例 etc.; those not public (index % 3 != 0) show up only as 匿名. Public ones
    # (and enterprises and events) are named.
    assert "企业自愿减排" in first or "履约清缴" in first or "个人碳足迹抵消" in first
    assert client.get("/registry", query_string={"page": "x"}).status_code == 200


def test_the_ledger_page_shows_the_latest_checkpoint_and_how_to_verify_offline(client):
    html = client.get("/ledger").get_data(as_text=True)

    assert text_of(html, "checkpoint-origin") == "test.tanhui.example/ledger"
    assert int(text_of(html, "checkpoint-size")) > 0
    assert "tanhui certificate verify FILE --key VKEY" in html
    assert 'href="/api/v1/ledger/key"' in html
    follow = "tanhui ledger follow checkpoint.txt --registry http://localhost --key VKEY"
    assert text_of(html, "follow-command") == follow
    assert text_of(html, "audit-command") == "tanhui ledger audit --registry http://localhost --key VKEY"
    vkey = client.get("/api/v1/ledger/key").get_data(as_text=True).strip()
    serve = f"tanhui witness serve --key witness.key --log {ORIGIN} {vkey} --state witness.sqlite"
    assert text_of(html, "witness-serve-command") == serve
    english = client.get("/ledger", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "A witness can also run a witness service (C2SP tlog-witness)" in english


def test_an_unknown_certificate_order_or_event_is_a_404_page(client):
    for path in ("/certificates/0000000000000000", "/orders/O-nothing", "/events/999999"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "未找到" in response.get_data(as_text=True)


def test_every_page_has_a_title_and_its_stylesheet(client):
    for path in ("/", "/projects", "/projects/LS01", "/shop", "/shop/calculator", "/registry", "/ledger"):
        html = client.get(path).get_data(as_text=True)
        assert re.search(r"<title>[^<]+</title>", html), path
        [stylesheet] = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    stylesheet_response = client.get(stylesheet)
    assert stylesheet_response.status_code == 200
    assert stylesheet_response.mimetype == "text/css"
    stylesheet_response.close()


def test_a_methodology_the_registry_does_not_calculate_has_no_rules_to_show():
    """A project moved here from another registry keeps its methodology; its page shows the id only."""
    assert methodology_rules("AR-CM-004-V01") is None  # in the rules file, but no calculator here
    assert methodology_rules("AR-CM-001-V01").leakage["applied"] == "fixed"
