"""An event's public page, and the pages' configuration: demo payments' default and a session secret that
every worker of one instance shares (so a form rendered by one worker posts to another)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from pages_support import text_of

from api.context import ledger_service
from marketplace import events
from offsets import footprints
from offsets.projects import register_organisation
from web.config import from_environment


def test_an_event_page_shows_its_organiser_footprint_and_whether_it_is_carbon_neutral(demo_app, client):
    details = events.EventDetails(
        name="成都绿色马拉松（测试）",
        starts_on=date(2026, 4, 12),
        ends_on=date(2026, 4, 12),
        place="成都市",
        attendees=3000,
    )
    activities = footprints.EventInputs(attendees=3000, days=1, rail_passenger_km=Decimal(200_000))
    with demo_app.app_context(), ledger_service().database.unit_of_work() as uow:
        organiser = register_organisation(uow.session, "成都赛事运营有限公司（测试）", "organiser")
        event = events.register_event(
            uow.session,
            organisation_id=organiser.id,
            details=details,
            activities=activities,
            calculator_input={"rail_passenger_km": "200000"},
            factors=footprints.packaged(),
            now=datetime.now(UTC),
        )
        event_id = event.id
        uow.commit()

    html = client.get(f"/events/{event_id}").get_data(as_text=True)

    assert "成都绿色马拉松（测试）" in html
    assert "成都赛事运营有限公司（测试）" in html
    assert text_of(html, "event-neutral") == "尚未实现"


def test_demo_payments_are_on_in_the_embedded_default_and_off_with_a_production_database(tmp_path):
    embedded = from_environment(tmp_path, {})
    production = from_environment(tmp_path, {"DATABASE_URL": "postgresql+psycopg://db/tanhui"})
    forced = from_environment(
        tmp_path, {"DATABASE_URL": "postgresql+psycopg://db/t", "TANHUI_DEMO_PAYMENTS": "1"}
    )

    assert embedded["TANHUI_DEMO_PAYMENTS"] is True
    assert production["TANHUI_DEMO_PAYMENTS"] is False
    assert forced["TANHUI_DEMO_PAYMENTS"] is True


def test_every_app_of_one_instance_signs_sessions_with_the_same_secret_kept_private(tmp_path):
    first = from_environment(tmp_path, {})["SECRET_KEY"]
    second = from_environment(tmp_path, {})["SECRET_KEY"]
    given = from_environment(tmp_path, {"SECRET_KEY": "from-the-environment"})["SECRET_KEY"]

    assert first == second
    assert len(first) == 64
    assert given == "from-the-environment"
    assert (Path(tmp_path) / "secret.key").stat().st_mode & 0o077 == 0
    assert [path.name for path in Path(tmp_path).iterdir()] == ["secret.key"]
