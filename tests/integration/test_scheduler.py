"""Background jobs: one process at a time per job, and the checkpoint job signs when the ledger grew."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from flask import Flask

from ledger.checkpoints import latest
from ledger.commands import Allocation, Issue
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


def test_the_scheduler_signs_a_checkpoint_on_its_interval(service, tmp_path: Path):
    app = Flask("scheduler-test", instance_path=str(tmp_path))
    app.config["TANHUI_CHECKPOINT_INTERVAL_S"] = 1
    service.append([Issue("i", "LS01", "2023", 1, (Allocation("OWN-A", 10),))])
    scheduler = start_scheduler(app, service)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with service.database.reading() as session:
                record = latest(session)
                if record is not None:
                    assert record.size == 1
                    break
            time.sleep(0.2)
        else:
            pytest.fail("no checkpoint was signed within 10 s")
    finally:
        scheduler.shutdown(wait=True)
