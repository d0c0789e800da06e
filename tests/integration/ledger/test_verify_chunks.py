"""Verification reads the ledger in chunks of ``CHUNK_ENTRIES``; what it catches must not depend on where a
chunk ends.

The tamper tests' ledger fits in one chunk, so here a ledger of a little over two chunks is built (SQLite,
batch appends), with a checkpoint exactly at the first chunk's end. Entries are changed at each side of
both chunk ends and at the last entry, and verification, in one process and in two, must name that seq;
a retirement's closed range at a chunk's first seq is changed too. The untouched ledger verifies the same
either way.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from tamper_support import copy_database, failure_of, one_byte_changed, query, rewrite_entry, tamper
from tests_support import migrate

from ledger import merkle
from ledger.commands import Allocation, Beneficiary, Command, Issue, Retire, Selection, Transfer
from ledger.database import Database
from ledger.service import LedgerConfig, LedgerService
from ledger.verify import VerificationFailure
from ledger.verify_common import CHUNK_ENTRIES
from ledger.verify_integrity import IntegrityOutcome, IntegrityProcess

ORIGIN = "chunks.tanhui.example/ledger"
ENTRY_COUNT = 2 * CHUNK_ENTRIES + 101
APPEND_SIZE = 500
assert CHUNK_ENTRIES % APPEND_SIZE == 0


def chunk_commands() -> list[Command]:
    """One issue, then a 1 kg transfer at every odd seq and a 1 kg retirement at every even seq."""
    commands: list[Command] = [Issue("i-1", "LS01", "2023", 1, (Allocation("OWN-A", ENTRY_COUNT),))]
    for seq in range(1, ENTRY_COUNT):
        if seq % 2:
            commands.append(Transfer(f"t-{seq}", "OWN-A", "ENT-A", Selection(quantity_kg=1)))
        else:
            beneficiary = Beneficiary(f"个人{seq}", seq % 4 == 0)
            commands.append(Retire(f"r-{seq}", "ENT-A", Selection(quantity_kg=1), beneficiary, "gift"))
    return commands


def open_service(path: Path, key: Path, *, create_key: bool = False) -> LedgerService:
    config = LedgerConfig(origin=ORIGIN, signing_key_file=key, create_key_if_missing=create_key)
    return LedgerService(Database(f"sqlite:///{path}"), config)


@dataclass(frozen=True)
class Built:
    path: Path
    key: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    directory = tmp_path_factory.mktemp("chunks")
    path, key = directory / "ledger.db", directory / "signing.key"
    migrate(f"sqlite:///{path}")
    service = open_service(path, key, create_key=True)
    try:
        for account_id, account_type in (("OWN-A", "owner"), ("ENT-A", "enterprise")):
            service.open_account(account_id, account_type, account_id)
        commands = chunk_commands()
        for first in range(0, ENTRY_COUNT, APPEND_SIZE):  # APPEND_SIZE divides CHUNK_ENTRIES
            service.append(commands[first : first + APPEND_SIZE])
            if service.size() == CHUNK_ENTRIES:  # a checkpoint exactly at the first chunk's end
                service.sign_checkpoint()
        service.sign_checkpoint()
        assert service.size() == ENTRY_COUNT
    finally:
        service.database.dispose()
    return Built(path, key)


@pytest.fixture
def copy(built: Built, tmp_path: Path) -> Path:
    return copy_database(built.path, tmp_path / "copy.db")


def failures(path: Path, key: Path) -> list[VerificationFailure]:
    """The failure that verification in one process, then in two, reports."""
    return [failure_of(open_service(path, key), jobs) for jobs in (1, 2)]


def test_the_untouched_ledger_of_three_chunks_verifies_alike_in_one_and_two_processes(
    built: Built, copy: Path
):
    service = open_service(copy, built.key)
    try:
        one, two = service.verify(jobs=1), service.verify(jobs=2)
    finally:
        service.database.dispose()
    assert one == two
    assert (one.size, one.checkpoints, one.latest_checkpoint_size) == (ENTRY_COUNT, 2, ENTRY_COUNT)
    [(live,)] = query(copy, "SELECT count(*) FROM ledger_holdings")
    [(closed,)] = query(copy, "SELECT count(*) FROM ledger_closed_ranges")
    assert (one.live_ranges, one.closed_ranges, one.batches) == (live, closed, 1)
    assert closed == CHUNK_ENTRIES + 50  # one 1 kg retirement at every even seq from 2


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_is_told_of_every_chunk(built: Built, copy: Path, jobs: int):
    """What the command's progress bar counts: each chunk replayed, so that it ends at the ledger's size."""
    told: list[int] = []
    service = open_service(copy, built.key)
    try:
        service.verify(progress=told.append, jobs=jobs)
    finally:
        service.database.dispose()
    assert told == [CHUNK_ENTRIES, CHUNK_ENTRIES, ENTRY_COUNT - 2 * CHUNK_ENTRIES]


@pytest.mark.parametrize("jobs", [1, 2])
def test_entries_appended_during_a_verification_are_left_to_the_next(built: Built, copy: Path, jobs: int):
    """A verification is of the ledger as it was when it began. Here three entries are appended while the
    first chunk is being replayed (before a second process has started reading, which takes a while to
    spawn): neither process may count them, or the chain would end past the head this one read."""
    service, appender = open_service(copy, built.key), open_service(copy, built.key)
    later = [Transfer(f"later-{n}", "OWN-A", "ENT-A", Selection(quantity_kg=1)) for n in range(3)]

    def append_once(_entries: int) -> None:
        if later:
            appender.append(later)
            later.clear()

    try:
        report = service.verify(progress=append_once, jobs=jobs)
        assert not later  # appended, during the verification
        assert report.size == ENTRY_COUNT
        assert service.verify(jobs=jobs).size == ENTRY_COUNT + 3
    finally:
        service.database.dispose()
        appender.database.dispose()


EDGES = [
    CHUNK_ENTRIES - 1,
    CHUNK_ENTRIES,
    CHUNK_ENTRIES + 1,
    2 * CHUNK_ENTRIES - 1,
    2 * CHUNK_ENTRIES,
    ENTRY_COUNT - 1,
]


@pytest.mark.parametrize("seq", EDGES)
def test_a_changed_body_at_a_chunk_edge_is_caught_at_that_seq(built: Built, copy: Path, seq: int):
    [(body,)] = query(copy, "SELECT body FROM ledger_entries WHERE seq = ?", (seq,))
    assert isinstance(body, str)
    changed = one_byte_changed(body.encode("utf-8"), len(body) // 2).decode("utf-8")
    tamper(copy, "UPDATE ledger_entries SET body = ? WHERE seq = ?", (changed, seq))
    for failure in failures(copy, built.key):
        assert (failure.seq, failure.what) == (seq, "leaf hash"), failure


@pytest.mark.parametrize("seq", [CHUNK_ENTRIES - 1, CHUNK_ENTRIES, 2 * CHUNK_ENTRIES])
def test_a_deleted_entry_at_a_chunk_edge_is_named(built: Built, copy: Path, seq: int):
    tamper(copy, "DELETE FROM ledger_entries WHERE seq = ?", (seq,))
    one, two = failures(copy, built.key)
    assert one.seq == seq, one
    assert (two.seq, two.what, two.detail) == (one.seq, one.what, one.detail)


@pytest.mark.parametrize("seq", [CHUNK_ENTRIES, 2 * CHUNK_ENTRIES])
def test_a_changed_closed_range_of_a_chunks_first_entry_is_caught_at_that_seq(
    built: Built, copy: Path, seq: int
):
    rows = query(
        copy, "SELECT batch_id, start_kg, status FROM ledger_closed_ranges WHERE entry_seq = ?", (seq,)
    )
    assert rows, seq
    assert rows[0][2] == "retired", rows  # even seqs are retirements
    batch, start, _ = rows[0]
    tamper(
        copy,
        "UPDATE ledger_closed_ranges SET status = 'cancelled' WHERE batch_id = ? AND start_kg = ?",
        (batch, start),
    )
    for failure in failures(copy, built.key):
        assert (failure.seq, failure.what) == (seq, "holdings"), failure


def test_a_closed_range_no_entry_closes_is_named_as_stored_and_one_missing_as_not_stored(
    built: Built, copy: Path
):
    """An extra row after the last one the replay derives, then a missing one: each side is named."""
    [(batch, start, seq)] = query(
        copy,
        "SELECT batch_id, start_kg, entry_seq FROM ledger_closed_ranges ORDER BY entry_seq DESC LIMIT 1",
    )
    tamper(
        copy,
        "INSERT INTO ledger_closed_ranges (batch_id, start_kg, end_kg, account_id, status, entry_seq) "
        "VALUES (?, ?, ?, 'ENT-A', 'retired', ?)",
        (batch, ENTRY_COUNT + 5, ENTRY_COUNT + 5, seq),
    )
    for failure in failures(copy, built.key):
        assert (failure.seq, failure.what) == (seq, "holdings"), failure
        assert failure.detail == (
            f"retired range SC-{batch}-{ENTRY_COUNT + 5}-{ENTRY_COUNT + 5} of account ENT-A is stored but no "
            "entry closes it"
        )
    tamper(
        copy,
        "DELETE FROM ledger_closed_ranges WHERE batch_id = ? AND start_kg = ?",
        (batch, start),
        again=True,
    )
    tamper(
        copy,
        "DELETE FROM ledger_closed_ranges WHERE batch_id = ? AND start_kg = ?",
        (batch, ENTRY_COUNT + 5),
        again=True,
    )
    for failure in failures(copy, built.key):
        assert (failure.seq, failure.what) == (seq, "holdings"), failure
        assert failure.detail.endswith("of account ENT-A is closed by the entry but not stored")


def test_a_live_holding_is_named_as_stored_without_cause_or_as_missing(built: Built, copy: Path):
    [(batch, start, end)] = query(
        copy, "SELECT batch_id, start_kg, end_kg FROM ledger_holdings WHERE account_id = 'OWN-A'"
    )
    tamper(
        copy,
        "UPDATE ledger_holdings SET account_id = 'ENT-A' WHERE batch_id = ? AND start_kg = ?",
        (batch, start),
    )
    for failure in failures(copy, built.key):
        assert failure.what == "holdings", failure
        # Rows compare in (account, batch, start) order: ENT-A's extra row comes before OWN-A's gap.
        assert failure.detail == (
            f"account ENT-A is stored as holding SC-{batch}-{start}-{end}, which the entries do not give it"
        )
    tamper(
        copy, "DELETE FROM ledger_holdings WHERE batch_id = ? AND start_kg = ?", (batch, start), again=True
    )
    for failure in failures(copy, built.key):
        assert failure.detail == f"account OWN-A should hold SC-{batch}-{start}-{end}, which is not stored so"
        assert (failure.seq, str(failure)) == (None, f"holdings: {failure.detail}")  # no entry to name


def test_a_consistently_rewritten_last_entry_is_caught_by_the_checkpoint_root(built: Built, copy: Path):
    """Body and leaf hash rewritten together, at an even seq that stores no subtree hash and has no
    successor: only the signed checkpoint's root can tell, and verification names it."""
    last = ENTRY_COUNT - 1
    [(body,)] = query(copy, "SELECT body FROM ledger_entries WHERE seq = ?", (last,))
    assert isinstance(body, str)
    assert f'"name":"个人{last}"' in body
    forged = body.replace(f'"name":"个人{last}"', '"name":"别人"').encode("utf-8")
    rewrite_entry(copy, last, forged)
    for failure in failures(copy, built.key):
        assert (failure.seq, failure.what) == (last, "root"), failure
        assert (
            failure.detail
            == f"the root of the first {ENTRY_COUNT} entries does not match signed checkpoint #2"
        )
        assert str(failure) == f"seq {last}: root: {failure.detail}"


def failure_with_a_slow_first_chunk(path: Path, key: Path) -> tuple[VerificationFailure, list[int]]:
    """A two-process verification whose replay dwells 3 s on its first chunk, so that the integrity
    process meanwhile checks ahead and reports: the failure raised, and the chunks the replay told of."""
    chunks: list[int] = []

    def first_chunk_slowly(entries: int) -> None:
        if not chunks:
            time.sleep(3)
        chunks.append(entries)

    service = open_service(path, key)
    try:
        with pytest.raises(VerificationFailure) as raised:
            service.verify(progress=first_chunk_slowly, jobs=2)
    finally:
        service.database.dispose()
    return raised.value, chunks


def test_an_integrity_failure_the_replay_has_passed_ends_the_replay_there(built: Built, copy: Path):
    """In two processes, once the integrity process has reported a failure at a seq the replay has
    already passed, nothing the replay finds later can come first: it stops at the end of that chunk
    instead of reading the rest of the ledger (at 10^6 entries, the rest of a minute)."""
    bad_seq = 50  # its stored leaf hash, which only the integrity process reads
    tamper(copy, "UPDATE ledger_entries SET leaf_hash = zeroblob(32) WHERE seq = ?", (bad_seq,))
    failure, chunks = failure_with_a_slow_first_chunk(copy, built.key)
    assert (failure.seq, failure.what) == (bad_seq, "leaf hash"), failure
    assert chunks == [CHUNK_ENTRIES]  # not the two chunks after it


def test_an_integrity_failure_found_ahead_does_not_hide_an_earlier_replay_failure(built: Built, copy: Path):
    """In two processes the integrity checks run ahead of the replay. One they found in a later chunk
    may end the replay early only once it is known to come first: a holdings problem the replay has
    not reached yet, at a lower seq, is the first bad seq and must be the one named."""
    replay_seq, integrity_seq = CHUNK_ENTRIES + 100, 2 * CHUNK_ENTRIES + 50  # both retirements
    [(batch, start)] = query(
        copy, "SELECT batch_id, start_kg FROM ledger_closed_ranges WHERE entry_seq = ?", (replay_seq,)
    )
    tamper(
        copy,
        "UPDATE ledger_closed_ranges SET status = 'cancelled' WHERE batch_id = ? AND start_kg = ?",
        (batch, start),
    )
    [(body,)] = query(copy, "SELECT body FROM ledger_entries WHERE seq = ?", (integrity_seq,))
    assert isinstance(body, str)
    changed = one_byte_changed(body.encode("utf-8"), len(body) // 2).decode("utf-8")
    tamper(copy, "UPDATE ledger_entries SET body = ? WHERE seq = ?", (changed, integrity_seq), again=True)
    failure, chunks = failure_with_a_slow_first_chunk(copy, built.key)
    assert (failure.seq, failure.what) == (replay_seq, "holdings"), failure
    assert chunks[0] == CHUNK_ENTRIES


def _pause(pid: int, seconds: float) -> threading.Timer:
    """Stop the process (SIGSTOP) and let it go on (SIGCONT) after ``seconds``, unless it has ended."""

    def resume() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)

    os.kill(pid, signal.SIGSTOP)
    timer = threading.Timer(seconds, resume)
    timer.start()
    return timer


def test_an_integrity_process_silent_for_less_than_its_stall_limit_is_waited_for(built: Built, copy: Path):
    """A loaded machine or database may hold the integrity process for seconds between two of its
    reports. Here it is stopped for two seconds before its first word and again after it, between two
    chunks; the verification waits, and the outcome is the untouched ledger's. (Whether the second stop
    fell before the process had finished is a race with its last chunks: it is tried up to five times.)"""
    [(last_body,)] = query(copy, "SELECT body FROM ledger_entries WHERE seq = ?", (ENTRY_COUNT - 1,))
    assert isinstance(last_body, str)
    untouched = IntegrityOutcome(merkle.leaf_hash(last_body.encode("utf-8")).hex(), None)
    waited_mid_way = False
    for _attempt in range(5):
        process = IntegrityProcess(f"sqlite:///{copy}", ENTRY_COUNT, [])
        timers = []
        try:
            (child,) = [c for c in multiprocessing.active_children() if c.name == "tanhui-verify-integrity"]
            started = time.monotonic()
            timers.append(_pause(child.pid, 2.0))  # long before its first report: a spawn takes a while
            assert process.outcome_through(0) is None  # its first chunk reported, not yet the end
            assert time.monotonic() - started >= 2.0
            timers.append(_pause(child.pid, 2.0))
            paused = time.monotonic()
            outcome = process.outcome_through(None)
            waited_mid_way = time.monotonic() - paused >= 2.0
        finally:
            process.close()
            for timer in timers:
                timer.join()
        assert outcome == untouched
        if waited_mid_way:
            break
    assert waited_mid_way, "each time, the integrity process had finished before it could be stopped"
