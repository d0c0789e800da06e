"""A process killed with SIGKILL in the middle of a batch append leaves the ledger as if it never tried.

The child (``helpers/append_and_hang.py``) appends 3,000 commands in one ``service.append`` call, one
transaction, and is killed either with every row written and flushed but not committed, or while it waits
for the sequencer lock that this test holds. Afterwards every ledger table is exactly as before, the
ledger verifies, and the next append gets the next seq: the same 3,000 request ids append anew.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, text

from ledger.commands import Selection, Transfer
from ledger.service import LedgerService

pytestmark = pytest.mark.pg

HELPER = Path(__file__).parent / "helpers" / "append_and_hang.py"
STATUS_TIMEOUT_S = 60
BACKEND_EXIT_TIMEOUT_S = 30
KILL_TIMEOUT_S = 10

LEDGER_TABLES = {
    "ledger_entries": "seq",
    "ledger_head": "id",
    "ledger_batches": "id",
    "ledger_holdings": "batch_id, start_kg",
    "ledger_closed_ranges": "batch_id, start_kg",
    "ledger_beneficiary_secrets": "seq",
    "ledger_checkpoints": "id",
    "ledger_verifier_keys": "vkey",
    "ledger_accounts": "id",
}


def load_helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pg_append_and_hang", HELPER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


helper = load_helper()


@dataclass
class Child:
    process: subprocess.Popen[bytes]
    status_file: Path
    stderr_file: Path

    def wait_for_status(self, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + STATUS_TIMEOUT_S
        while True:
            if self.status_file.exists():
                status: dict[str, Any] = json.loads(self.status_file.read_text())
                if ready(status):
                    return status
            if self.process.poll() is not None:
                errors = self.stderr_file.read_text()
                pytest.fail(f"the child exited with {self.process.returncode}: {errors}")
            assert time.monotonic() < deadline, f"no status from the child after {STATUS_TIMEOUT_S} s"
            time.sleep(0.01)

    def kill(self) -> None:
        assert self.process.poll() is None, "the child must still be alive when it is killed"
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(KILL_TIMEOUT_S) == -signal.SIGKILL


@pytest.fixture
def spawn(pg_url: str, tmp_path: Path) -> Iterator[Callable[[str], Child]]:
    children: list[Child] = []

    def start(mode: str) -> Child:
        status = tmp_path / f"child-{len(children)}.json"
        stderr = tmp_path / f"child-{len(children)}.stderr"
        with stderr.open("wb") as errors:
            process = subprocess.Popen(
                [sys.executable, str(HELPER), pg_url, mode, str(status)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
        children.append(Child(process, status, stderr))
        return children[-1]

    yield start
    for child in children:
        if child.process.poll() is None:
            child.process.kill()
        child.process.wait(KILL_TIMEOUT_S)


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]
            for table, order in LEDGER_TABLES.items()
        }


def backend_state(engine: Engine, pid: int) -> tuple[str, str | None] | None:
    """``(state, wait_event_type)`` of a PostgreSQL backend, or None once it has gone."""
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT state, wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).first()
    return None if row is None else (row.state, row.wait_event_type)


def wait_for_backend(engine: Engine, pid: int, done: Callable[[tuple[str, str | None] | None], bool]) -> None:
    deadline = time.monotonic() + BACKEND_EXIT_TIMEOUT_S
    while not done(state := backend_state(engine, pid)):
        assert time.monotonic() < deadline, f"backend {pid} is still {state}"
        time.sleep(0.01)


def crash_entries(engine: Engine) -> int:
    with engine.connect() as connection:
        query = text("SELECT count(*) FROM ledger_entries WHERE request_id LIKE 'crash-%'")
        return int(connection.execute(query).scalar_one())


def append_the_batch_again(service: LedgerService, first_seq: int) -> None:
    """The killed batch's request ids were never used: appending them appends 3,000 new entries."""
    entries = service.append(helper.crash_batch())
    assert [entry.seq for entry in entries] == list(range(first_seq, first_seq + 3_000))
    assert not any(entry.repeated for entry in entries)
    report = service.verify()
    assert report.size == first_seq + 3_000


def test_a_batch_append_killed_after_flushing_and_before_commit_leaves_no_trace(
    pg_service: LedgerService, spawn: Callable[[str], Child]
) -> None:
    helper.prepare(pg_service)
    engine = pg_service.database.engine
    before = snapshot(engine)
    size_before = pg_service.size()

    child = spawn("hold")
    status = child.wait_for_status(lambda status: "backend_pid" in status)

    # Inside its transaction the child sees its 3,000 rows; nobody else does, and it holds the lock.
    assert status["appended"] == 3_000
    assert status["entries_in_transaction"] == size_before + 3_000
    assert backend_state(engine, status["backend_pid"]) == ("idle in transaction", "Client")
    assert pg_service.size() == size_before
    assert crash_entries(engine) == 0
    child.kill()
    wait_for_backend(engine, status["backend_pid"], lambda state: state is None)

    assert snapshot(engine) == before
    assert pg_service.verify().size == size_before
    append_the_batch_again(pg_service, size_before)


def test_a_batch_append_killed_while_waiting_for_the_sequencer_lock_leaves_no_trace(
    pg_service: LedgerService, spawn: Callable[[str], Child]
) -> None:
    helper.prepare(pg_service)
    engine = pg_service.database.engine
    size_before = pg_service.size()

    with pg_service.database.unit_of_work() as uow:
        holder_pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        transfer = Transfer("holds-the-lock", "OWN-A", "ENT-B", Selection(quantity_kg=7))
        [held] = pg_service.sequencer.append(uow.session, [transfer])
        child = spawn("wait")
        child_pid = child.wait_for_status(lambda status: "backend_pid" in status)["backend_pid"]
        wait_for_backend(engine, child_pid, lambda state: state == ("active", "Lock"))
        with engine.connect() as connection:
            blockers = connection.execute(text("SELECT pg_blocking_pids(:p)"), {"p": child_pid}).scalar_one()
        assert blockers == [holder_pid]
        child.kill()
        uow.commit()
    # The child's backend gets the lock once we commit, finds its client gone and rolls back.
    wait_for_backend(engine, child_pid, lambda state: state is None)

    assert held.seq == size_before
    assert pg_service.size() == size_before + 1
    assert crash_entries(engine) == 0
    assert pg_service.verify().size == size_before + 1
    append_the_batch_again(pg_service, size_before + 1)


@pytest.mark.parametrize("delay_s", [0.0, 0.037])
def test_a_process_killed_between_or_during_batch_appends_leaves_only_whole_batches(
    pg_service: LedgerService, spawn: Callable[[str], Child], delay_s: float
) -> None:
    helper.prepare(pg_service)
    engine = pg_service.database.engine
    size_before = pg_service.size()
    per_batch = 3 * helper.LOOP_GROUPS

    child = spawn("loop")
    status = child.wait_for_status(lambda status: status.get("committed", 0) >= 2)
    time.sleep(delay_s)
    child.kill()
    wait_for_backend(engine, status["backend_pid"], lambda state: state is None)

    appended = pg_service.size() - size_before
    assert appended % per_batch == 0, f"{appended} entries is not a whole number of {per_batch}-entry batches"
    batches = appended // per_batch
    assert batches >= status["committed"]
    with engine.connect() as connection:
        query = text("SELECT request_id FROM ledger_entries WHERE seq >= :s")
        request_ids = set(connection.execute(query, {"s": size_before}).scalars())
    assert request_ids == {command.request_id for k in range(batches) for command in helper.loop_batch(k)}
    assert pg_service.verify().size == size_before + appended
    [entry] = pg_service.append([Transfer("after-the-kill", "OWN-A", "ENT-B", Selection(quantity_kg=1))])
    assert entry.seq == size_before + appended
    pg_service.sign_checkpoint()
    assert pg_service.verify().size == entry.seq + 1
