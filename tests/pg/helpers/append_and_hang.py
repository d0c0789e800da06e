"""Child process for the crash tests: appends a large batch on PostgreSQL and is killed mid-way.

Usage: ``python append_and_hang.py URL MODE STATUS_FILE``, where MODE is

* ``hold``: append :func:`crash_batch` in one transaction, flush it, report (backend pid, entries
  visible inside the transaction) and then hang with the transaction open, holding the sequencer lock;
* ``wait``: report the backend pid, then append :func:`crash_batch`, which waits for the sequencer lock
  that the parent holds;
* ``loop``: append :func:`loop_batch` ``0, 1, 2, ...``, one committed transaction each, reporting how
  many have committed (and the backend pid), until killed.

Reports are JSON written atomically to STATUS_FILE. The parent kills this process with SIGKILL; if the
parent itself goes away first, the child exits on its own rather than hold a transaction open.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ledger.commands import Allocation, Beneficiary, Command, Issue, Retire, Selection, Transfer
from ledger.database import Database
from ledger.models import Entry
from ledger.sequencer import AppendedEntry, Sequencer
from ledger.service import LedgerConfig, LedgerService

ORIGIN = "test.tanhui.example/ledger"
PRE_BATCH = "PRE-2024-001"
CRASH_GROUPS = 1_000
"""The crash batch is this many (issue, transfer, retire) triples: 3,000 commands."""
LOOP_GROUPS = 50
HANG_LIMIT_S = 300


def prepare(service: LedgerService) -> None:
    """The ledger before the crash: OWN-A holds 9,000 kg of PRE-2024-001, ENT-A holds 1,000 kg of it."""
    allocations = (Allocation("OWN-A", 9_000), Allocation("ENT-A", 1_000))
    service.append([Issue("pre-issue", "PRE", "2024", 1, allocations)])
    service.append([Transfer("pre-transfer", "OWN-A", "OWN-B", Selection(quantity_kg=500))])
    service.sign_checkpoint()


def crash_batch() -> list[Command]:
    """3,000 commands: new batches issued to OWN-B, and moves and retirements of the existing holdings."""
    commands: list[Command] = []
    for i in range(CRASH_GROUPS):
        vintage, number = str(2000 + i // 999), i % 999 + 1
        commands.append(Issue(f"crash-issue-{i}", "CRASH", vintage, number, (Allocation("OWN-B", 100),)))
        commands.append(Transfer(f"crash-transfer-{i}", "OWN-A", "ENT-B", Selection(quantity_kg=5)))
        beneficiary = Beneficiary(f"beneficiary {i}", public=i % 2 == 0)
        commands.append(Retire(f"crash-retire-{i}", "ENT-A", Selection(quantity_kg=1), beneficiary, "gift"))
    return commands


def loop_batch(k: int) -> list[Command]:
    """Batch ``k`` of the loop: new batches of vintage 2100 + k, each issued, transferred and retired."""
    commands: list[Command] = []
    for i in range(LOOP_GROUPS):
        batch_number = i + 1
        issue = Issue(f"loop-{k}-issue-{i}", "LOOP", str(2100 + k), batch_number, (Allocation("OWN-B", 10),))
        selection = Selection(quantity_kg=4, batches=(issue.batch_id,))
        commands.append(issue)
        commands.append(Transfer(f"loop-{k}-transfer-{i}", "OWN-B", "ENT-B", selection))
        beneficiary = Beneficiary("loop", public=True)
        commands.append(Retire(f"loop-{k}-retire-{i}", "ENT-B", selection, beneficiary, "personal_footprint"))
    return commands


def report(path: Path, **values: Any) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(values))
    partial.replace(path)


def hang() -> None:
    parent = os.getppid()
    deadline = time.monotonic() + HANG_LIMIT_S
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.05)
    sys.exit(3)


def backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


class HangBeforeCommit(Sequencer):
    """Appends, flushes, reports, and never returns: the transaction stays open until the kill."""

    def __init__(self, status: Path) -> None:
        super().__init__()
        self.status = status

    def append(self, session: Session, commands: Sequence[Command]) -> list[AppendedEntry]:
        entries = super().append(session, commands)
        session.flush()
        visible = session.scalar(select(func.count()).select_from(Entry))
        pid = backend_pid(session)
        report(self.status, backend_pid=pid, entries_in_transaction=visible, appended=len(entries))
        hang()
        raise AssertionError("unreachable")


class ReportThenWait(Sequencer):
    """Reports its backend, then appends as usual: on a held lock, it waits."""

    def __init__(self, status: Path) -> None:
        super().__init__()
        self.status = status

    def append(self, session: Session, commands: Sequence[Command]) -> list[AppendedEntry]:
        report(self.status, backend_pid=backend_pid(session))
        return super().append(session, commands)


class RememberBackend(Sequencer):
    """Appends as usual, remembering the backend pid of the last append's connection."""

    backend_pid: int | None = None

    def append(self, session: Session, commands: Sequence[Command]) -> list[AppendedEntry]:
        self.backend_pid = backend_pid(session)
        return super().append(session, commands)


def main(url: str, mode: str, status: Path) -> None:
    config = LedgerConfig(origin=ORIGIN, signing_key_file=status.with_suffix(".key"))
    if mode == "loop":
        remember = RememberBackend()
        service = LedgerService(Database(url), config, remember)
        k = 0
        while True:
            service.append(loop_batch(k))
            k += 1
            report(status, committed=k, backend_pid=remember.backend_pid)
    assert mode in ("hold", "wait"), mode
    sequencer = HangBeforeCommit(status) if mode == "hold" else ReportThenWait(status)
    service = LedgerService(Database(url), config, sequencer)
    service.append(crash_batch())
    report(status, finished=True)  # only if the parent failed to kill this process in time
    hang()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
