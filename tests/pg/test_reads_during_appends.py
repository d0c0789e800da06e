"""Readers that run while an append commits: ``verify`` and checkpoint signing on PostgreSQL.

At READ COMMITTED every statement sees what has committed by the time it starts, so a reader made of
several statements could see part of the ledger before an append and part after it; readers therefore
run in one REPEATABLE READ snapshot, and checkpoint signing takes the sequencer lock.
To make the interleaving certain rather than lucky, the test's own transaction appends an
entry (holding the ledger head's row lock) and takes an ACCESS EXCLUSIVE lock on a table that the reader
reads late; once the reader is seen blocked by the test's transaction, the test commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from ledger import checkpoints
from ledger.commands import Allocation, Issue, Selection, Transfer
from ledger.database import UnitOfWork
from ledger.service import LedgerService

pytestmark = pytest.mark.pg

BLOCK_TIMEOUT_S = 30
JOIN_TIMEOUT_S = 60


class Reader:
    """Runs ``work`` in a thread; keeps its result or exception for the test thread."""

    def __init__(self, work: Callable[[], object]) -> None:
        self.result: object = None
        self.error: BaseException | None = None
        self._work = work
        self._thread = threading.Thread(target=self._run, name="reader")

    def _run(self) -> None:
        try:
            self.result = self._work()
        except BaseException as exc:  # re-raised in the test thread by outcome()
            self.error = exc

    def start(self) -> None:
        self._thread.start()

    def outcome(self) -> object:
        self._thread.join(JOIN_TIMEOUT_S)
        assert not self._thread.is_alive(), "the reader is still running"
        if self.error is not None:
            raise self.error
        return self.result


def wait_until_blocked_by(service: LedgerService, holder_pid: int) -> None:
    deadline = time.monotonic() + BLOCK_TIMEOUT_S
    query = text("SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))")
    while True:
        # A new transaction for each look: pg_stat_activity is a snapshot taken once per transaction.
        with service.database.engine.connect() as watcher:
            if watcher.execute(query, {"holder": holder_pid}).scalar_one():
                return
        assert time.monotonic() < deadline, "the reader never waited for the test's transaction"
        time.sleep(0.01)


@contextmanager
def appending_while(service: LedgerService, locked_table: str, reader: Reader) -> Iterator[UnitOfWork]:
    """Append one transfer uncommitted, lock ``locked_table``, start ``reader``, wait until it is blocked.

    The body of the ``with`` runs in the appending transaction, which commits when the body ends.
    """
    with service.database.unit_of_work() as uow:
        holder = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        transfer = Transfer("concurrent-append", "OWN-A", "ENT-A", Selection(quantity_kg=5))
        service.sequencer.append(uow.session, [transfer])
        uow.session.execute(text(f"LOCK TABLE {locked_table} IN ACCESS EXCLUSIVE MODE"))
        reader.start()
        wait_until_blocked_by(service, holder)
        yield uow
        uow.commit()


@pytest.fixture
def ledger(pg_service: LedgerService) -> LedgerService:
    pg_service.append([Issue("issue", "LS01", "2024", 1, (Allocation("OWN-A", 100),))])
    pg_service.append([Transfer("transfer", "OWN-A", "ENT-B", Selection(quantity_kg=10))])
    assert pg_service.sign_checkpoint()[0] == 2
    return pg_service


def test_verify_during_a_concurrent_append_checks_one_consistent_snapshot(ledger: LedgerService) -> None:
    reader = Reader(ledger.verify)

    # verify reads the head after the entries: it waits for the lock there.
    with appending_while(ledger, "ledger_head", reader):
        pass

    report = reader.outcome()
    assert getattr(report, "size", None) in (2, 3)
    assert ledger.verify().size == 3


def test_signing_a_checkpoint_while_another_append_and_checkpoint_commit_succeeds(
    ledger: LedgerService,
) -> None:
    reader = Reader(ledger.sign_checkpoint)

    # sign_current reads the latest checkpoint after the ledger size: it waits for the lock there.
    with appending_while(ledger, "ledger_checkpoints", reader) as uow:
        checkpoints.sign_current(uow.session, [ledger.signer], ledger.config.origin)

    outcome = reader.outcome()
    assert isinstance(outcome, tuple)
    size, note = outcome
    assert size == 3
    assert note.split("\n")[1] == "3"
    assert ledger.verify().latest_checkpoint_size == 3
