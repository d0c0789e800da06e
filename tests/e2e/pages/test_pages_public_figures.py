"""The public registry's figures agree with the ledger: each project's type, place, poverty status, issued and
retired volumes, as recomputed here from the ledger's own entries (not from the tables the pages read), and
a draft project is shown to nobody."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from pages_support import text_of
from sqlalchemy import select
from tests_support import add_project

from api.context import ledger_service
from ledger.entries import parse_body
from ledger.models import Entry
from marketplace.models import Certificate, MarketOrder
from offsets import regions
from offsets.lifecycle import ProjectStatus
from offsets.models import Organisation, Project
from web.pages.formatting import kg, local_time, mu, tonnes


def _ledger_figures(demo_app) -> tuple[dict[str, dict], Counter[str], Counter[str]]:
    """From the ledger's entries: each project's batch attributes and issued kilograms, and the kilograms
    retired per batch."""
    attributes: dict[str, dict] = {}
    issued: Counter[str] = Counter()
    retired_by_batch: Counter[str] = Counter()
    with demo_app.app_context(), ledger_service().database.reading() as session:
        rows = session.execute(select(Entry.kind, Entry.body).where(Entry.kind.in_(("issue", "retire"))))
        for kind, body in rows:
            data = parse_body(body.encode("utf-8")).data
            if kind == "issue":
                batch = data["batch"]
                attributes[batch["project"]] = batch["attributes"]
                issued[batch["project"]] += batch["quantity_kg"]
            else:
                for item in data["ranges"]:
                    retired_by_batch[item["batch"]] += item["end"] - item["start"] + 1
    return attributes, issued, retired_by_batch


def _add_project(demo_app, code: str, name: str, status: str | None = None) -> None:
    """A registered afforestation project in 盐源县 of a demo owner (tests_support.add_project), or one in
    ``status``."""
    with demo_app.app_context(), ledger_service().database.unit_of_work() as uow:
        owner = uow.session.scalar(select(Organisation.id).where(Organisation.kind == "project_owner"))
        project = add_project(
            uow.session,
            code=code,
            name=name,
            county_code="513423",
            zone="川西南",
            owner_id=owner,
            created_at=datetime.now(UTC),
        )
        if status is not None:
            project.status = status
        uow.commit()


def test_every_project_page_states_what_the_ledger_holds_for_it(demo_app, client):
    attributes, issued, retired_by_batch = _ledger_figures(demo_app)
    assert len(attributes) >= 10
    assert sum(retired_by_batch.values()) > 0
    for code, batch_attributes in attributes.items():
        html = client.get(f"/projects/{code}").get_data(as_text=True)
        batches = dict(re.findall(r'class="batch-row" data-batch="([^"]*)" data-retired-kg="(\d+)"', html))
        retired = {batch: kg for batch, kg in retired_by_batch.items() if batch.startswith(f"{code}-")}
        assert {batch: int(kg) for batch, kg in batches.items() if int(kg)} == retired, code
        assert text_of(html, "project-issued") == tonnes(issued[code]), code
        assert text_of(html, "project-retired") == tonnes(sum(retired.values())), code
        county = regions.division(batch_attributes["county_code"])
        assert text_of(html, "project-location").startswith(f"{county.prefecture} {county.name}（"), code
        assert batch_attributes["county"] == county.name
        poverty = "true" if batch_attributes["poverty_county"] else "false"
        assert f'id="project-poverty" data-poverty="{poverty}"' in html, code
        assert text_of(html, "project-poverty") == ("是" if batch_attributes["poverty_county"] else "否")
        assert f'id="project-type" data-type="{batch_attributes["project_type"]}"' in html, code


def test_the_project_registry_lists_each_project_once_by_code_with_its_ledger_figures(demo_app, client):
    attributes, issued, _ = _ledger_figures(demo_app)
    html = client.get("/projects").get_data(as_text=True)
    rows = re.findall(
        r'class="project-row" data-zone="([^"]+)" data-code="([^"]+)" data-type="([^"]+)" '
        r'data-issued-kg="(\d+)" data-poverty="(true|false)">(.*?)</tr>',
        html,
        re.S,
    )
    codes = [code for _, code, _, _, _, _ in rows]
    assert codes == sorted(codes)
    assert len(set(codes)) == len(codes)
    for zone, code, project_type, issued_kg, poverty, cells in rows:
        if code not in attributes:  # registered, not issued yet
            assert int(issued_kg) == 0
            continue
        expected = attributes[code]
        assert (zone, project_type) == (expected["zone"], expected["project_type"]), code
        assert int(issued_kg) == issued[code], code
        assert tonnes(issued[code]) in cells, code
        assert poverty == ("true" if expected["poverty_county"] else "false"), code
        county = regions.division(expected["county_code"])
        assert f'{county.name}<br><small class="muted">{county.prefecture}</small>' in cells, code
        assert ('<span class="tag">脱贫县</span>' in cells) == expected["poverty_county"], code


def test_the_type_filter_keeps_that_type_only_and_every_project_of_it(client):
    everything = client.get("/projects").get_data(as_text=True)
    types = Counter(
        re.findall(r'class="project-row" data-zone="[^"]+" data-code="[^"]+" data-type="([^"]+)"', everything)
    )
    assert len(types) >= 3
    for project_type, count in types.items():
        html = client.get("/projects", query_string={"type": project_type}).get_data(as_text=True)
        shown = re.findall(r'data-type="([^"]+)" data-issued-kg', html)
        assert shown == [project_type] * count, project_type


def test_a_draft_project_appears_on_no_public_page(demo_app, client):
    counted = text_of(client.get("/").get_data(as_text=True), "total-projects")
    _add_project(demo_app, "DRAFT01", "草稿项目（不公开）", ProjectStatus.DRAFT.value)
    assert client.get("/projects/DRAFT01").status_code == 404
    for path in ("/projects", "/projects?zone=川西南", "/projects?type=afforestation"):
        assert "DRAFT01" not in client.get(path).get_data(as_text=True), path
    assert text_of(client.get("/").get_data(as_text=True), "total-projects") == counted


def test_a_registered_project_not_yet_issued_is_public_with_nothing_issued_or_retired(demo_app, client):
    _add_project(demo_app, "NEW01", "新登记项目（示例）")
    html = client.get("/projects/NEW01").get_data(as_text=True)
    assert (text_of(html, "project-issued"), text_of(html, "project-retired")) == ("0 t", "0 t")
    assert 'class="batch-row"' not in html
    listed = client.get("/projects").get_data(as_text=True)
    assert re.search(r'data-code="NEW01" data-type="afforestation" data-issued-kg="0"', listed)


def test_the_portal_s_totals_are_the_ledger_s_and_the_public_projects(demo_app, client):
    attributes, issued, retired_by_batch = _ledger_figures(demo_app)
    with demo_app.app_context(), ledger_service().database.reading() as session:
        public = session.execute(
            select(Project.zone, Project.area_mu).where(Project.status != ProjectStatus.DRAFT.value)
        ).all()
    html = client.get("/").get_data(as_text=True)
    retired = sum(retired_by_batch.values())
    from_poverty = sum(
        kg for batch, kg in retired_by_batch.items() if attributes[batch.split("-", 1)[0]]["poverty_county"]
    )
    assert 0 < from_poverty < retired
    share = (Decimal(from_poverty * 100) / retired).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)

    assert text_of(html, "total-projects") == str(len(public))
    assert text_of(html, "total-area") == mu(sum((Decimal(area) for _, area in public), Decimal(0)))
    assert text_of(html, "total-issued") == tonnes(sum(issued.values()))
    assert text_of(html, "total-retired") == tonnes(retired)
    assert text_of(html, "poverty-share") == f"{share}%"
    zones = dict(re.findall(r'class="zone" data-zone="([^"]+)" data-projects="(\d+)"', html))
    assert zones == {zone: str(count) for zone, count in Counter(zone for zone, _ in public).items()} | {
        zone: "0" for zone in regions.ZONE_KEYS if zone not in {zone for zone, _ in public}
    }


def test_the_retirement_registry_shows_every_retirement_and_no_private_name_or_details(demo_app, client):
    with demo_app.app_context(), ledger_service().database.reading() as session:
        entries = session.execute(
            select(Entry.seq, Entry.body).where(Entry.kind == "retire").order_by(Entry.seq.desc())
        ).all()
        orders = dict(
            session.execute(
                select(Certificate.seq, MarketOrder).join(MarketOrder, MarketOrder.id == Certificate.order_id)
            ).all()
        )
        session.expunge_all()
    first = client.get("/registry").get_data(as_text=True)
    pages = int(re.search(r"第 1 / (\d+) 页", first).group(1))
    rows = re.findall(
        r'<tr class="retirement" data-seq="(\d+)">(.*?)</tr>',
        "".join(client.get(f"/registry?page={page}").get_data(as_text=True) for page in range(1, pages + 1)),
        re.S,
    )
    assert [int(seq) for seq, _ in rows] == [seq for seq, _ in entries]
    assert f"共 {len(entries)} 笔注销" in first
    for (seq, cells), (_, body) in zip(rows, entries, strict=True):
        data = parse_body(body.encode("utf-8")).data
        order = orders.get(int(seq))
        beneficiary = re.search(r'<td class="beneficiary">(?:<a href="([^"]+)">)?([^<]*)', cells)
        details = re.search(r'<small class="muted details">([^<]*)</small>', cells)
        if data["beneficiary"]["public"]:
            assert html.unescape(beneficiary.group(2)) == data["beneficiary"]["name"], seq
            assert (html.unescape(details.group(1)) if details else "") == data["details"], seq
        else:
            pseudonym = order.buyer_display_name.strip() if order is not None else ""
            assert html.unescape(beneficiary.group(2)) == (pseudonym or "匿名"), seq
            assert "name" not in data["beneficiary"], seq  # the ledger holds a commitment to it
            if order is not None and order.beneficiary_name != pseudonym:
                assert order.beneficiary_name not in cells, seq
            assert details is None, seq
        event_id = order.event_id if order is not None else None
        assert beneficiary.group(1) == (f"/events/{event_id}" if event_id else None), seq
        projects = sorted({item["batch"].split("-", 1)[0] for item in data["ranges"]})
        assert re.findall(r'href="/projects/([^"]+)"', cells) == projects, seq
        assert kg(data["quantity_kg"]) in cells, seq
        assert local_time(parse_body(body.encode("utf-8")).time) in cells, seq
