"""The nightly verification's outcome is kept, and the health check and the ledger page show it.

A ledger is verified as it is, then again after a holding was moved behind the ledger's back (the
replayed holdings no longer match); the second run is stored as a failure naming what is wrong, the
health check asks for attention, and the public ledger page says so.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from tests_support import make_app

from api.schemas import HealthSchema
from ledger.commands import Allocation, Issue, Selection, Transfer
from ledger.health import VERIFICATION_MAX_AGE, ledger_health
from ledger.models import Holding
from ledger.service import LedgerService
from ledger.verification_runs import latest_run
from web.cli import main
from web.scheduler import verify_job


@pytest.fixture
def app(tmp_path: Path):
    app = make_app(str(tmp_path))
    service: LedgerService = app.extensions["tanhui.ledger"]
    for account, kind in (("OWN-A", "owner"), ("ENT-A", "enterprise")):
        service.open_account(account, kind, account)
    service.append([Issue("issue-1", "LS01", "2024", 1, (Allocation("OWN-A", 10_000),))])
    service.append([Transfer("t-1", "OWN-A", "ENT-A", Selection(quantity_kg=4_000))])
    service.sign_checkpoint()
    yield app
    service.database.dispose()


def ledger_of(app) -> LedgerService:
    service: LedgerService = app.extensions["tanhui.ledger"]
    return service


def move_a_holding_behind_the_ledgers_back(service: LedgerService) -> None:
    with service.database.unit_of_work() as uow:
        moved = uow.session.execute(
            update(Holding).where(Holding.account_id == "ENT-A").values(account_id="OWN-A")
        )
        assert moved.rowcount == 1
        uow.commit()


def test_a_ledger_that_holds_is_recorded_as_verified_and_healthy(app):
    service = ledger_of(app)
    with service.database.reading() as session:
        assert latest_run(session) is None
        assert ledger_health(session, datetime.now(UTC), timedelta(minutes=5)).attention == ["never_verified"]
    record = verify_job(service)
    assert (record.ok, record.tree_size, record.failed_seq, record.failure) == (True, 2, None, None)
    with service.database.reading() as session:
        assert latest_run(session) == record
    health = app.test_client().get("/api/v1/health")
    assert health.status_code == 200
    assert health.headers["Cache-Control"] == "no-store"
    body = health.get_json()
    assert HealthSchema().validate(body) == {}  # the answer is what the OpenAPI document says
    assert (body["status"], body["attention"], body["database"]) == ("ok", [], "ok")
    assert body["ledger"] == {
        "size": 2,
        "checkpoint_size": 2,
        "checkpoint_signed_at": body["ledger"]["checkpoint_signed_at"],
        "oldest_unsigned_entry_at": None,
    }
    assert body["replica"] is None  # none configured
    assert body["verification"] == {
        "finished_at": record.finished_at.isoformat(),
        "tree_size": 2,
        "ok": True,
        "failed_seq": None,
        "failure": None,
    }
    page = app.test_client().get("/ledger").get_data(as_text=True)
    assert "2 条条目全部通过" in page


def test_a_failed_verification_is_recorded_logged_and_shown(app, caplog):
    service = ledger_of(app)
    verify_job(service)
    move_a_holding_behind_the_ledgers_back(service)
    with caplog.at_level(logging.CRITICAL, logger="web.scheduler"):
        record = verify_job(service)
    assert (record.ok, record.tree_size, record.failure) == (False, 2, "holdings")
    assert record.detail == "account ENT-A should hold SC-LS01-2024-001-1-4000, which is not stored so"
    assert "nightly ledger verification FAILED" in caplog.text
    with service.database.reading() as session:
        assert latest_run(session) == record  # the later run, not the earlier success
    body = app.test_client().get("/api/v1/health").get_json()
    assert (body["status"], body["attention"]) == ("attention", ["verification_failed"])
    assert (body["verification"]["ok"], body["verification"]["failure"]) == (False, "holdings")
    page = app.test_client().get("/ledger").get_data(as_text=True)
    assert "发现问题" in page
    assert "holdings" in page
    english = app.test_client().get("/ledger?lang=en").get_data(as_text=True)
    assert "found a problem" in english


def test_a_verification_older_than_two_days_is_stale(app):
    service = ledger_of(app)
    long_ago = datetime.now(UTC) - VERIFICATION_MAX_AGE - timedelta(minutes=1)
    service.verify_and_record(clock=lambda: long_ago)
    with service.database.reading() as session:
        now = datetime.now(UTC)
        assert ledger_health(session, now, timedelta(minutes=5)).attention == ["verification_stale"]
        assert ledger_health(session, long_ago + timedelta(hours=1), timedelta(minutes=5)).attention == []


def test_entries_waiting_too_long_for_a_checkpoint_ask_for_attention(app):
    service = ledger_of(app)
    service.verify_and_record()
    [late] = service.append([Transfer("t-2", "OWN-A", "ENT-A", Selection(quantity_kg=1))])
    stated = datetime.fromisoformat(json.loads(late.body)["time"].replace("Z", "+00:00"))
    with service.database.reading() as session:
        waiting = ledger_health(session, stated + timedelta(minutes=4), timedelta(minutes=5))
        behind = ledger_health(session, stated + timedelta(minutes=6), timedelta(minutes=5))
    assert (waiting.attention, waiting.oldest_unsigned_at) == ([], stated)
    assert (behind.attention, behind.size, behind.checkpoint_size) == (["checkpoint_behind"], 3, 2)
    service.sign_checkpoint()
    with service.database.reading() as session:
        assert ledger_health(session, stated + timedelta(days=1), timedelta(minutes=5)).attention == []


def test_a_database_that_does_not_answer_is_a_503_problem(tmp_path: Path):
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2"
    from web.app import create_app

    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": unreachable,
            "TANHUI_SIGNING_KEY_FILE": tmp_path / "signing.key",
        }
    )
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == "the database does not answer"


def test_ledger_verify_records_its_outcome_only_when_asked(app, tmp_path: Path):
    service = ledger_of(app)
    env = {
        "TANHUI_INSTANCE_PATH": str(tmp_path / "cli"),
        "DATABASE_URL": service.database.url,
        "TANHUI_SIGNING_KEY_FILE": str(app.config["TANHUI_SIGNING_KEY_FILE"]),
        "TANHUI_LEDGER_ORIGIN": app.config["TANHUI_LEDGER_ORIGIN"],
        "TANHUI_CREATE_SIGNING_KEY": "false",
        "TANHUI_SCHEDULER": "false",
    }

    def verify(*options: str):
        return CliRunner().invoke(main, ["ledger", "verify", *options], env=env, catch_exceptions=False)

    assert verify().exit_code == 0
    with service.database.reading() as session:
        assert latest_run(session) is None
    assert verify("--record").exit_code == 0
    with service.database.reading() as session:
        passed = latest_run(session)
    assert passed is not None
    assert (passed.ok, passed.tree_size) == (True, 2)
    move_a_holding_behind_the_ledgers_back(service)
    result = verify("--record")
    assert result.exit_code == 1
    assert "ledger verification failed: holdings" in result.stderr
    with service.database.reading() as session:
        failed = latest_run(session)
    assert failed is not None
    assert (failed.ok, failed.failure, failed.tree_size) == (False, "holdings", 2)
