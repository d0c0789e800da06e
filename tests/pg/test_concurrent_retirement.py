"""Racing appends on PostgreSQL: the sequencer's lock makes them one serial order, with domain errors.

Every racer has its own :class:`LedgerService` and engine (its own connection pool) on the same
database, as separate web workers would; a :class:`threading.Barrier` releases them together. Races
run in two ways: free (whoever gets to the lock first), and queued, where the test holds the ledger
head's row lock until every racer's backend is seen waiting for it, so that all eight contend for sure.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from ledger.commands import Allocation, Beneficiary, Command, Issue, Retire, Selection, Transfer
from ledger.database import Database
from ledger.errors import IdempotencyConflict, InsufficientHolding, LedgerError, RangeNotHeld
from ledger.models import ClosedRange, Entry, Holding
from ledger.ranges import SerialRange
from ledger.sequencer import AppendedEntry
from ledger.service import LedgerConfig, LedgerService

pytestmark = pytest.mark.pg

RACERS = 8
ROUNDS = 6
BARRIER_TIMEOUT_S = 30
JOIN_TIMEOUT_S = 60
QUEUE_TIMEOUT_S = 30
MODES = ("free", "queued")


@dataclass
class Outcome:
    entries: list[AppendedEntry] | None = None
    error: BaseException | None = None


@dataclass
class Racers:
    services: list[LedgerService]
    backend_pids: list[int]
    """The PostgreSQL backend of each racer's one pooled connection."""
    observer: LedgerService
    """The fixture's service: holds the lock in queued races and watches the racers' backends."""


@pytest.fixture
def racers(pg_service: LedgerService, pg_url: str, tmp_path: Path) -> Iterator[Racers]:
    """Eight services on the same schema, each with its own engine, connected before any race."""
    config = LedgerConfig(origin=pg_service.config.origin, signing_key_file=tmp_path / "racer-key")
    services = [LedgerService(Database(pg_url), config) for _ in range(RACERS)]
    pids = []
    for service in services:
        # Open each pool's connection now, not during the race; a racer then reuses that connection.
        with service.database.engine.connect() as connection:
            pids.append(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
    yield Racers(services, pids, pg_service)
    for service in services:
        service.database.dispose()


def race(racers: Racers, commands: Sequence[Command], mode: str = "free") -> list[Outcome]:
    """Append ``commands[i]`` through racer ``i``, all released at once; the outcome of each."""
    assert mode in MODES
    services = racers.services
    assert len(services) == len(commands)
    barrier = threading.Barrier(len(commands))
    outcomes = [Outcome() for _ in commands]

    def run(index: int) -> None:
        try:
            barrier.wait(BARRIER_TIMEOUT_S)
            outcomes[index].entries = services[index].append([commands[index]])
        except BaseException as exc:  # recorded and asserted on by the test thread
            outcomes[index].error = exc

    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(len(commands))]
    if mode == "free":
        for thread in threads:
            thread.start()
    else:
        with racers.observer.database.engine.connect() as holder:
            transaction = holder.begin()
            holder.execute(text("SELECT size FROM ledger_head WHERE id = 1 FOR UPDATE"))
            for thread in threads:
                thread.start()
            wait_until_all_wait_for_a_lock(racers)
            transaction.rollback()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
        assert not thread.is_alive(), f"{thread.name} is still appending after {JOIN_TIMEOUT_S} s"
    return outcomes


def wait_until_all_wait_for_a_lock(racers: Racers) -> None:
    deadline = time.monotonic() + QUEUE_TIMEOUT_S
    query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids) AND wait_event_type = 'Lock'")
    while True:
        # A new transaction for each look: pg_stat_activity is a snapshot taken once per transaction.
        with racers.observer.database.engine.connect() as watcher:
            waiting = watcher.execute(query, {"pids": racers.backend_pids}).scalar_one()
        if waiting == len(racers.backend_pids):
            return
        assert time.monotonic() < deadline, f"only {waiting} racers are waiting for the head lock"
        time.sleep(0.01)


def split(outcomes: Sequence[Outcome]) -> tuple[list[int], list[int]]:
    """Indexes of the racers that appended and of those refused by a ledger error; anything else fails."""
    won = [index for index, outcome in enumerate(outcomes) if outcome.error is None]
    lost = [index for index, outcome in enumerate(outcomes) if outcome.error is not None]
    for index in lost:
        error = outcomes[index].error
        assert isinstance(error, LedgerError), f"racer {index} got a non-domain error: {error!r}"
    return won, lost


def first_entry(outcome: Outcome) -> AppendedEntry:
    assert outcome.entries is not None
    assert len(outcome.entries) == 1
    return outcome.entries[0]


def retire_last_kilogram(request_id: str, batch: str) -> Retire:
    selection = Selection(quantity_kg=1, batches=(batch,))
    return Retire(request_id, "ENT-A", selection, Beneficiary("企业甲", public=True), "voluntary_corporate")


def retire_entries(service: LedgerService) -> list[tuple[int, str]]:
    with service.database.reading() as session:
        query = select(Entry.seq, Entry.request_id).where(Entry.kind == "retire").order_by(Entry.seq)
        rows = session.execute(query)
        return [(seq, request_id) for seq, request_id in rows]


def held(service: LedgerService, account: str, batch: str) -> list[tuple[int, int]]:
    with service.database.reading() as session:
        return [
            (start, end)
            for start, end in session.execute(
                select(Holding.start_kg, Holding.end_kg)
                .where(Holding.account_id == account, Holding.batch_id == batch)
                .order_by(Holding.start_kg)
            )
        ]


def closed_ranges(service: LedgerService, batch: str) -> list[tuple[int, int, str, str, int]]:
    table = ClosedRange
    with service.database.reading() as session:
        rows = session.execute(
            select(table.start_kg, table.end_kg, table.account_id, table.status, table.entry_seq)
            .where(table.batch_id == batch)
            .order_by(table.start_kg)
        )
        return [(start, end, account, status, seq) for start, end, account, status, seq in rows]


def test_eight_racers_retiring_the_last_kilogram_leave_exactly_one_retirement(
    pg_service: LedgerService, racers: Racers
) -> None:
    for round_number in range(1, ROUNDS + 1):
        batch = f"RACE-2024-{round_number:03d}"
        allocations = (Allocation("OWN-A", 99), Allocation("ENT-A", 1))
        issue = Issue(f"issue-{round_number}", "RACE", "2024", round_number, allocations)
        [issued] = pg_service.append([issue])
        assert held(pg_service, "ENT-A", batch) == [(100, 100)]
        size_before = pg_service.size()
        commands = [retire_last_kilogram(f"retire-{round_number}-{i}", batch) for i in range(RACERS)]

        outcomes = race(racers, commands, MODES[round_number % 2])

        won, lost = split(outcomes)
        assert len(won) == 1, f"round {round_number}: {len(won)} racers retired the same kilogram"
        for index in lost:
            error = outcomes[index].error
            assert type(error) is InsufficientHolding, f"racer {index}: {error!r}"
            assert error.field == "quantity_kg"
            assert "ENT-A holds 0 kg" in str(error)
        [winner] = won
        entry = first_entry(outcomes[winner])
        assert (entry.seq, entry.kind, entry.repeated) == (size_before, "retire", False)
        assert entry.data["ranges"] == [
            {"batch": batch, "start": 100, "end": 100, "serial": f"SC-{batch}-100-100"}
        ]
        assert pg_service.size() == size_before + 1 == issued.seq + 2
        retirements = retire_entries(pg_service)
        assert len(retirements) == round_number
        assert retirements[-1] == (entry.seq, f"retire-{round_number}-{winner}")
        assert held(pg_service, "ENT-A", batch) == []
        assert closed_ranges(pg_service, batch) == [(100, 100, "ENT-A", "retired", entry.seq)]

    report = pg_service.verify()
    assert (report.size, report.closed_ranges) == (2 * ROUNDS, ROUNDS)


@pytest.mark.parametrize("mode", MODES)
def test_eight_racers_retiring_the_same_named_range_leave_one_retirement_and_seven_range_not_held(
    pg_service: LedgerService, racers: Racers, mode: str
) -> None:
    pg_service.append([Issue("issue", "RACE", "2024", 1, (Allocation("ENT-A", 1),))])
    selection = Selection(ranges=(SerialRange("RACE-2024-001", 1, 1),))
    commands = [
        Retire(f"retire-{i}", "ENT-A", selection, Beneficiary("企业甲", public=True), "voluntary_corporate")
        for i in range(RACERS)
    ]

    outcomes = race(racers, commands, mode)

    won, lost = split(outcomes)
    assert len(won) == 1
    assert len(lost) == RACERS - 1
    for index in lost:
        error = outcomes[index].error
        assert type(error) is RangeNotHeld, f"racer {index}: {error!r}"
        assert "SC-RACE-2024-001-1-1" in str(error)
    assert len(retire_entries(pg_service)) == 1
    assert pg_service.verify().size == 2


@pytest.mark.parametrize(("seed", "mode"), [(1, "free"), (2, "queued"), (3, "free"), (4, "queued")])
def test_racing_transfers_from_one_holding_never_overdraw_it(
    pg_service: LedgerService, racers: Racers, seed: int, mode: str
) -> None:
    holding = 100
    quantities = [5, 10, 15, 20, 25, 30, 35, 40]  # 180 kg asked of 100 held
    random.Random(seed).shuffle(quantities)
    allocations = (Allocation("OWN-A", 400), Allocation("ENT-B", holding))
    pg_service.append([Issue("issue", "RACE", "2024", 1, allocations)])
    batch = "RACE-2024-001"
    assert held(pg_service, "ENT-B", batch) == [(401, 500)]
    targets = ["ENT-A", "RETAIL", "OWN-B", "BUFFER"]
    commands = [
        Transfer(f"transfer-{i}", "ENT-B", targets[i % len(targets)], Selection(quantity_kg=quantity))
        for i, quantity in enumerate(quantities)
    ]

    outcomes = race(racers, commands, mode)

    won, lost = split(outcomes)
    assert won, "someone must have been first, and 100 kg cover any single transfer"
    for index in lost:
        assert type(outcomes[index].error) is InsufficientHolding, outcomes[index].error
    # A serial order exists that explains every outcome: the winners in seq order each found enough...
    winners = sorted(((first_entry(outcomes[i]), i) for i in won), key=lambda pair: pair[0].seq)
    remaining = holding
    moved: list[tuple[int, int]] = []
    for entry, index in winners:
        assert entry.data["quantity_kg"] == quantities[index] <= remaining
        remaining -= quantities[index]
        moved += [(item["start"], item["end"]) for item in entry.data["ranges"]]
    # ... and every loser asked for more than was left even at the end, so refusing it was right.
    for index in lost:
        assert quantities[index] > remaining
    # Winners took disjoint kilograms, all from ENT-B's block, and ENT-B keeps exactly the rest.
    taken = sorted(kg for start, end in moved for kg in range(start, end + 1))
    assert len(taken) == len(set(taken)) == holding - remaining
    assert all(401 <= kg <= 500 for kg in taken)
    kept = sum(end - start + 1 for start, end in held(pg_service, "ENT-B", batch))
    assert kept == remaining >= 0
    assert [entry.seq for entry, _ in winners] == list(range(1, 1 + len(won)))
    assert pg_service.verify().size == 1 + len(won)


@pytest.mark.parametrize("mode", MODES)
def test_eight_racers_with_the_same_request_id_append_one_entry_and_all_get_its_seq(
    pg_service: LedgerService, racers: Racers, mode: str
) -> None:
    pg_service.append([Issue("issue", "RACE", "2024", 1, (Allocation("ENT-A", 100),))])
    command = Transfer("pay-invoice-42", "ENT-A", "ENT-B", Selection(quantity_kg=10), memo="invoice 42")

    outcomes = race(racers, [command] * RACERS, mode)

    won, lost = split(outcomes)
    assert lost == []
    entries = [first_entry(outcomes[i]) for i in won]
    assert {entry.seq for entry in entries} == {1}
    assert sorted(entry.repeated for entry in entries) == [False] + [True] * (RACERS - 1)
    assert {entry.body for entry in entries} == {entries[0].body}
    assert pg_service.size() == 2
    assert held(pg_service, "ENT-B", "RACE-2024-001") == [(1, 10)]
    assert held(pg_service, "ENT-A", "RACE-2024-001") == [(11, 100)]
    assert pg_service.verify().size == 2


@pytest.mark.parametrize("mode", MODES)
def test_racers_reusing_one_request_id_for_different_transfers_get_an_idempotency_conflict(
    pg_service: LedgerService, racers: Racers, mode: str
) -> None:
    pg_service.append([Issue("issue", "RACE", "2024", 1, (Allocation("ENT-A", 100),))])
    commands = [Transfer("same-id", "ENT-A", "ENT-B", Selection(quantity_kg=i + 1)) for i in range(RACERS)]

    outcomes = race(racers, commands, mode)

    won, lost = split(outcomes)
    assert len(won) == 1
    assert all(type(outcomes[i].error) is IdempotencyConflict for i in lost)
    entry = first_entry(outcomes[won[0]])
    assert (entry.seq, entry.repeated, entry.data["quantity_kg"]) == (1, False, won[0] + 1)
    assert pg_service.size() == 2
    assert pg_service.verify().size == 2
