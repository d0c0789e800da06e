"""Background jobs: one process at a time per job, and the checkpoint job signs when the ledger grew."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from ledger.account_index import indexed_end
from ledger.checkpoints import latest
from ledger.commands import Allocation, Issue
from ledger.models import AccountEntry
from web.scheduler import job_lock, sign_checkpoint_job, start_scheduler


def another_holder_gets(service, job: str, lock_dir: Path) -> bool:
    """Whether another thread (its own connection or file handle) gets the job's lock right now."""
    results: list[bool] = []

    def other() -> None:
        with job_lock(service, job, lock_dir) as mine:
            results.append(mine)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    return results[0]


def test_a_job_lock_held_by_one_holder_is_refused_to_another_on_sqlite(service, tmp_path: Path):
    with job_lock(service, "checkpoint", tmp_path) as first:
        assert first is True
        assert another_holder_gets(service, "checkpoint", tmp_path) is False
    assert another_holder_gets(service, "checkpoint", tmp_path) is True


@pytest.mark.pg
def test_a_job_lock_held_by_one_holder_is_refused_to_another_on_postgresql(pg_service, tmp_path: Path):
    with job_lock(pg_service, "verify", tmp_path) as first:
        assert first is True
        assert another_holder_gets(pg_service, "verify", tmp_path) is False
    assert another_holder_gets(pg_service, "verify", tmp_path) is True


def test_the_checkpoint_job_signs_only_when_the_ledger_has_grown(service):
    service.append([Issue("i", "LS01", "2023", 1, (Allocation("OWN-A", 10),))])
    sign_checkpoint_job(service)
    with service.database.reading() as session:
        first = latest(session)
        assert first is not None
        first_id, first_size = first.id, first.size
    sign_checkpoint_job(service)
    with service.database.reading() as session:
        again = latest(session)
        assert again is not None
        assert (again.id, again.size) == (first_id, first_size) == (first_id, 1)
    service.append([Issue("j", "LS01", "2023", 2, (Allocation("OWN-A", 5),))])
    sign_checkpoint_job(service)
    with service.database.reading() as session:
        grown = latest(session)
        assert grown is not None
        assert grown.size == 2


def run_scheduler_until(service, tmp_path: Path, config: dict[str, int], done, what: str) -> None:
    """Start the scheduler with ``config`` and wait up to 10 s for ``done(session)`` to hold."""
    app = Flask("scheduler-test", instance_path=str(tmp_path))
    app.config.update({"TANHUI_CHECKPOINT_INTERVAL_S": 60, **config})
    scheduler = start_scheduler(app, service)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with service.database.reading() as session:
                if done(session):
                    return
            time.sleep(0.2)
        pytest.fail(f"{what} within 10 s")
    finally:
        scheduler.shutdown(wait=True)


def test_the_scheduler_signs_a_checkpoint_on_its_interval(service, tmp_path: Path):
    service.append([Issue("i", "LS01", "2023", 1, (Allocation("OWN-A", 10),))])
    run_scheduler_until(
        service, tmp_path, {"TANHUI_CHECKPOINT_INTERVAL_S": 1}, latest, "no checkpoint was signed"
    )
    with service.database.reading() as session:
        record = latest(session)
        assert record is not None
        assert record.size == 1


def test_the_scheduler_brings_the_account_index_up_to_the_log(service, tmp_path: Path):
    service.append([Issue("i", "LS01", "2023", 1, (Allocation("OWN-A", 10), Allocation("BUFFER", 1)))])
    run_scheduler_until(
        service,
        tmp_path,
        {"TANHUI_ACCOUNT_INDEX_INTERVAL_S": 1},
        lambda session: indexed_end(session) == 1,
        "the account index did not catch up",
    )
    with service.database.reading() as session:
        rows = session.execute(select(AccountEntry.account_id).order_by(AccountEntry.account_id))
        assert rows.scalars().all() == ["BUFFER", "OWN-A"]
