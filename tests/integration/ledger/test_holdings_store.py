"""The sequencer's holdings store answers and writes exactly what the in-memory replay does.

An append prefetches what its commands name, so appends reach only some of ``DatabaseState``'s paths:
a key or an account read for the first time after changes, kilograms credited to a key never read (merged
at flush), the batches an account holds after it gave one up, a batch issued in the same transaction.
Here the store is driven directly, in orders hypothesis chooses, over a ledger the sequencer built, and
every answer and the rows it finally writes are compared with ``MemoryState``, the state ``verify``
replays the entries into.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests_support import ORIGIN, migrate, sent_statements

from ledger.commands import Allocation, Beneficiary, Cancel, Command, Issue, Retire, Selection, Transfer
from ledger.database import Database
from ledger.entries import parse_body
from ledger.errors import LedgerError
from ledger.holdings_store import DatabaseState
from ledger.ranges import SerialRange, Span, subtract
from ledger.rules import MemoryState, apply
from ledger.service import LedgerConfig, LedgerService

ACCOUNTS = ("OWN-A", "OWN-B", "BUFFER", "ENT-A", "ENT-B", "IDLE-1")
"""``IDLE-1`` is opened and never holds anything."""
NOT_OPENED = "NOBODY-1"
NOT_ISSUED = "HS09-2023-001"
ISSUES = (
    Issue(
        "i0",
        "HS01",
        "2023",
        1,
        (Allocation("OWN-A", 600), Allocation("BUFFER", 100), Allocation("OWN-B", 300)),
    ),
    Issue("i1", "HS01", "2023", 2, (Allocation("OWN-B", 400),)),
    Issue("i2", "HS02", "2023", 1, (Allocation("OWN-A", 250), Allocation("ENT-A", 250))),
)
ISSUED = tuple(issue.batch_id for issue in ISSUES)
FIRST_NEW_NUMBER = 10
"""Batches the store itself adds are numbered from here (``HS03-2023-010``, …)."""

accounts = st.sampled_from(ACCOUNTS)
issued_batches = st.sampled_from(ISSUED)
fractions = st.floats(min_value=0, max_value=1, allow_nan=False)

history_steps = st.lists(
    st.tuples(st.sampled_from(("transfer", "retire", "cancel")), accounts, accounts, st.integers(1, 900)),
    max_size=12,
)
"""Commands appended through the sequencer before the store is driven; those the ledger refuses are
left out, as the sequencer leaves them."""

store_steps = st.lists(
    st.one_of(
        st.tuples(st.just("held"), accounts | st.just(NOT_OPENED), issued_batches | st.just(NOT_ISSUED)),
        st.tuples(st.just("batches"), accounts),
        st.tuples(st.just("exists"), accounts | st.just(NOT_OPENED)),
        st.tuples(st.just("quantity"), issued_batches | st.just(NOT_ISSUED)),
        st.tuples(st.just("move"), accounts, accounts, issued_batches, fractions, fractions),
        st.tuples(st.just("close"), accounts, issued_batches, fractions, fractions),
        st.tuples(st.just("issue"), accounts, st.integers(1, 500)),
    ),
    max_size=30,
)

QUESTIONS = [
    *(("held", account, batch) for account in (*ACCOUNTS, NOT_OPENED) for batch in (*ISSUED, NOT_ISSUED)),
    *(("batches", account) for account in ACCOUNTS),
    *(("exists", account) for account in (*ACCOUNTS, NOT_OPENED)),
    *(("quantity", batch) for batch in (*ISSUED, NOT_ISSUED)),
]
"""Every question the store answers, about every account and batch of the test."""

prefetches = st.lists(
    st.one_of(
        st.builds(lambda a, b: Transfer("p", a, b, Selection(quantity_kg=1)), accounts, accounts),
        st.builds(
            lambda a, batch: Transfer("p", a, "ENT-A", Selection(quantity_kg=1, batches=(batch,))),
            accounts,
            issued_batches,
        ),
        st.builds(
            lambda a, batch: Cancel("p", a, Selection(ranges=(SerialRange(batch, 1, 1),)), "预取"),
            accounts,
            issued_batches,
        ),
    ),
    max_size=3,
)
"""What the sequencer would prefetch before the store is asked anything (often nothing here)."""


@contextmanager
def built_ledger(directory: Path, steps: list[tuple[str, str, str, int]]) -> Iterator[LedgerService]:
    """A SQLite ledger with the batches of ``ISSUES`` and whichever of ``steps`` the sequencer accepts."""
    url = f"sqlite:///{directory / 'ledger.db'}"
    migrate(url)
    service = LedgerService(Database(url), LedgerConfig(origin=ORIGIN, signing_key_file=directory / "key"))
    try:
        for account in ACCOUNTS:
            service.open_account(account, "enterprise", account)
        service.append(list(ISSUES))
        for index, (kind, account, other, quantity) in enumerate(steps):
            selection = Selection(quantity_kg=quantity)
            command: Command
            if kind == "transfer":
                command = Transfer(f"h{index}", account, other, selection)
            elif kind == "retire":
                command = Retire(f"h{index}", account, selection, Beneficiary("李明", index % 2 == 0), "gift")
            else:
                command = Cancel(f"h{index}", account, selection, "登记更正")
            with suppress(LedgerError):  # refused as a whole: nothing was written
                service.append([command])
        yield service
    finally:
        service.database.dispose()


def replayed(service: LedgerService) -> MemoryState:
    """The holdings the entries imply, replayed as verification replays them."""
    memory = MemoryState(ACCOUNTS, closes=[])
    with service.database.reading() as session:
        rows = session.execute(text("SELECT seq, kind, body FROM ledger_entries ORDER BY seq"))
        for seq, kind, body in rows:
            apply(memory, seq, kind, parse_body(body.encode("utf-8")).data)
    assert memory.closes is not None
    memory.closes.clear()
    return memory


def stored_holdings(session: Session) -> dict[tuple[str, str], list[Span]]:
    stored: dict[tuple[str, str], list[Span]] = {}
    rows = session.execute(
        text("SELECT account_id, batch_id, start_kg, end_kg FROM ledger_holdings ORDER BY 1, 2, 3")
    )
    for account, batch, start, end in rows:
        stored.setdefault((account, batch), []).append((start, end))
    return stored


def closed_ranges(session: Session) -> set[tuple[int, str, int, int, str, str]]:
    rows = session.execute(
        text("SELECT entry_seq, batch_id, start_kg, end_kg, account_id, status FROM ledger_closed_ranges")
    )
    return {tuple(row) for row in rows}


@contextmanager
def uncommitted(service: LedgerService) -> Iterator[Session]:
    """A transaction that is rolled back: what the store writes is read back before it would commit.

    The store writes closed ranges and batches that name entries this test never appends, so their
    foreign keys are checked at commit, which never comes.
    """
    with service.database.unit_of_work() as unit:
        unit.session.execute(text("PRAGMA defer_foreign_keys = ON"))
        yield unit.session


def pick_span(held: list[Span], first: float, second: float) -> Span | None:
    """A run of kilograms inside one held span, chosen by two fractions (None when nothing is held)."""
    if not held:
        return None
    start, end = held[min(int(first * len(held)), len(held) - 1)]
    low = start + int(first * (end - start))
    high = low + int(second * (end - low))
    return low, high


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=history_steps, prefetch=prefetches, steps=store_steps, sweep=st.permutations(QUESTIONS))
def test_the_store_agrees_with_the_replay_however_it_is_asked(
    tmp_path_factory: pytest.TempPathFactory,
    history: list[tuple[str, str, str, int]],
    prefetch: list[Command],
    steps: list[tuple],
    sweep: list[tuple],
) -> None:
    with built_ledger(tmp_path_factory.mktemp("store"), history) as service:
        memory = replayed(service)
        seq = service.size()
        new_numbers = itertools.count(FIRST_NEW_NUMBER)
        with uncommitted(service) as session:
            assert stored_holdings(session) == memory.holdings  # the sequencer's own writes, to begin with
            closed_before = closed_ranges(session)
            state = DatabaseState(session)
            state.prefetch(prefetch)
            for step in steps:
                run_step(state, memory, step, seq, new_numbers)
                seq += 1
            for question in sweep:  # then every question once, in an order of hypothesis's choosing
                run_step(state, memory, question, seq, new_numbers)
            state.flush()
            assert stored_holdings(session) == memory.holdings
            assert closed_ranges(session) - closed_before == set(memory.closes or [])
            issued = dict(session.execute(text("SELECT id, quantity_kg FROM ledger_batches")).all())
            assert issued == memory.batches


def run_step(
    state: DatabaseState, memory: MemoryState, step: tuple, seq: int, new_numbers: Iterator[int]
) -> None:
    """Ask or change both states alike; each answer of the store must be the replay's."""
    match step:
        case ("held", account, batch):
            assert state.held(account, batch) == memory.held(account, batch), step
        case ("batches", account):
            assert state.batches_held_by(account) == memory.batches_held_by(account), step
        case ("exists", account):
            assert state.account_exists(account) is memory.account_exists(account), step
        case ("quantity", batch):
            assert state.batch_quantity(batch) == memory.batch_quantity(batch), step
        case ("move", source, target, batch, first, second):
            span = pick_span(memory.held(source, batch), first, second)
            if span is None or source == target:
                return
            for each in (state, memory):  # as the rules apply a transfer: take, then credit
                each.set_held(source, batch, subtract(each.held(source, batch), *span))
                each.credit(target, batch, span)
        case ("close", account, batch, first, second):
            span = pick_span(memory.held(account, batch), first, second)
            if span is None:
                return
            for each in (state, memory):
                each.set_held(account, batch, subtract(each.held(account, batch), *span))
                each.close("cancelled", account, batch, span, seq)
        case ("issue", account, quantity):
            batch = f"HS03-2023-{next(new_numbers):03d}"
            for each in (state, memory):
                each.add_batch(batch, quantity, seq)
                each.credit(account, batch, (1, quantity))
        case _:
            raise AssertionError(step)


def test_a_key_credited_unread_then_read_holds_what_was_stored_and_credited(tmp_path: Path) -> None:
    """A credit to a key never read waits for flush; reading the key later merges it with the stored
    spans, and the account's batch list then counts it, whether or not the account was read whole."""
    with built_ledger(tmp_path, []) as service:
        memory = replayed(service)
        with uncommitted(service) as session:
            state = DatabaseState(session)
            state.set_held("OWN-A", ISSUED[0], subtract(state.held("OWN-A", ISSUED[0]), 1, 10))
            state.credit("ENT-B", ISSUED[0], (1, 10))
            state.set_held("OWN-B", ISSUED[1], subtract(state.held("OWN-B", ISSUED[1]), 1, 400))
            state.credit("ENT-A", ISSUED[1], (1, 400))
            assert state.batches_held_by("ENT-A") == [ISSUED[1], ISSUED[2]]  # stored, then credited
            assert state.held("ENT-B", ISSUED[0]) == [(1, 10)]
            assert state.batches_held_by("ENT-B") == [ISSUED[0]]
            assert state.batches_held_by("OWN-B") == [ISSUED[0]]  # gave all of the second batch away
            state.flush()
            memory.set_held("OWN-A", ISSUED[0], subtract(memory.held("OWN-A", ISSUED[0]), 1, 10))
            memory.credit("ENT-B", ISSUED[0], (1, 10))
            memory.set_held("OWN-B", ISSUED[1], [])
            memory.credit("ENT-A", ISSUED[1], (1, 400))
            assert stored_holdings(session) == memory.holdings


HOLDERS = tuple(f"HOLDER-{index:02d}" for index in range(40))
"""Each holds ten kilograms of a batch of its own, ``HS04-2024-<its number + 1>``."""


def own_number(holder: str) -> int:
    return HOLDERS.index(holder) + 1


def own_batch(holder: str) -> str:
    return f"HS04-2024-{own_number(holder):03d}"


def mixed_commands(tag: str, holders: tuple[str, ...], batch_number: int) -> list[Command]:
    """An issue, then per holder either quantities chosen from any batch (a transfer and a
    cancellation), or a retirement limited to its batch and a transfer of a named range: each way the
    store is asked to read, by as many accounts and batches as there are holders."""
    commands: list[Command] = [
        Issue(f"{tag}-issue", "HS05", "2024", batch_number, (Allocation("OWN-A", 10),))
    ]
    for position, holder in enumerate(holders):
        if position % 2 == 0:
            commands += [
                Transfer(f"{tag}-{holder}-t", holder, "ENT-A", Selection(quantity_kg=2)),
                Cancel(f"{tag}-{holder}-c", holder, Selection(quantity_kg=1), "登记更正"),
            ]
        else:
            batch = own_batch(holder)
            commands += [
                Retire(
                    f"{tag}-{holder}-r",
                    holder,
                    Selection(quantity_kg=1, batches=(batch,)),
                    Beneficiary("王芳", False),
                    "gift",
                ),
                Transfer(f"{tag}-{holder}-n", holder, "ENT-B", Selection(ranges=(SerialRange(batch, 6, 6),))),
            ]
    return commands


@pytest.mark.parametrize("database", ["sqlite", "pg"])
def test_the_statements_of_an_append_do_not_grow_with_its_commands_or_accounts(
    request: pytest.FixtureRequest, make_service, database: str
) -> None:
    """What the commands name is read in bulk before any rule runs; an account's holdings, a key or a
    batch read lazily per command would make an append of thousands of commands as many round trips."""
    service: LedgerService = make_service(request.getfixturevalue(f"{database}_url"))
    for holder in HOLDERS:
        service.open_account(holder, "individual", holder)
    # Every account is named once before: the sequencer then knows them all (test_known_accounts.py).
    seed = [
        Issue(f"seed-{holder}", "HS04", "2024", own_number(holder), (Allocation(holder, 10),))
        for holder in HOLDERS
    ]
    seed.append(
        Issue("seed", "HS06", "2024", 1, tuple(Allocation(a, 1) for a in ("OWN-A", "ENT-A", "ENT-B")))
    )
    service.append(seed)
    counts = []
    for tag, holders, number in (("few", HOLDERS[:2], 1), ("many", HOLDERS[2:], 2)):
        with sent_statements(service.database.engine) as sent:
            entries = service.append(mixed_commands(tag, holders, number))
        assert len(entries) == 1 + 2 * len(holders)
        counts.append(len(sent))
    assert counts[0] == counts[1], counts
    # And few in all: the head, request ids, two reads of holdings before the rules and one at flush,
    # batches, the tree's frontier, six writes and the head's move are 14 statements here (SQLite also
    # sends its BEGIN IMMEDIATE as one).
    assert counts[0] <= 20, counts


def _key_rows_reversed(service: LedgerService, account: str, batch: str) -> list[int]:
    """Store a key's holding rows again, highest serials first: the same rows, in an order a database may
    return them in (a PostgreSQL heap puts new rows wherever earlier deletions freed space). Returns the
    starts in the order a read by the key without ``ORDER BY`` now gives them."""
    key = {"a": account, "b": batch}
    with service.database.unit_of_work() as unit:
        rows = unit.session.execute(
            text(
                "SELECT batch_id AS b, start_kg AS s, end_kg AS e, account_id AS a FROM ledger_holdings "
                "WHERE account_id = :a AND batch_id = :b ORDER BY start_kg DESC"
            ),
            key,
        ).mappings()
        reversed_rows = [dict(row) for row in rows]
        unit.session.execute(text("DELETE FROM ledger_holdings WHERE account_id = :a AND batch_id = :b"), key)
        insert = (
            "INSERT INTO ledger_holdings (batch_id, start_kg, end_kg, account_id) VALUES (:b, :s, :e, :a)"
        )
        for row in reversed_rows:  # one at a time, in this order
            unit.session.execute(text(insert), row)
        unit.commit()
    with service.database.reading() as session:
        unordered = "SELECT start_kg FROM ledger_holdings WHERE account_id = :a AND batch_id = :b"
        return list(session.scalars(text(unordered), key))


@pytest.mark.parametrize("database", ["sqlite", "pg"])
def test_kilograms_are_taken_lowest_serial_first_whatever_order_the_rows_are_stored_in(
    request: pytest.FixtureRequest, make_service, database: str
) -> None:
    """The store reads a key's spans in serial order, not in the order the database happens to return
    its rows: a quantity is then taken from the lowest serials, by an account read whole and by a key."""
    service: LedgerService = make_service(request.getfixturevalue(f"{database}_url"))
    batch = "HS07-2024-001"
    service.append([Issue("spans", "HS07", "2024", 1, (Allocation("OWN-A", 100),))])
    gaps = tuple(SerialRange(batch, start, start + 9) for start in (11, 31, 51))
    # OWN-A now holds 1-10, 21-30, 41-50 and 61-100.
    service.append([Cancel("gaps", "OWN-A", Selection(ranges=gaps), "登记更正")])

    def taken(command: Command) -> list[tuple[int, int]]:
        [entry] = service.append([command])
        return [(item["start"], item["end"]) for item in entry.data["ranges"]]

    assert _key_rows_reversed(service, "OWN-A", batch) == [61, 41, 21, 1]
    by_account = Transfer("whole", "OWN-A", "ENT-A", Selection(quantity_kg=15))
    assert taken(by_account) == [(1, 10), (21, 25)]
    assert _key_rows_reversed(service, "OWN-A", batch) == [61, 41, 26]
    chosen = Selection(quantity_kg=15, batches=(batch,))
    assert taken(Retire("key", "OWN-A", chosen, Beneficiary("李明", True), "gift")) == [(26, 30), (41, 50)]
    assert service.verify().size == 4  # the rows rewritten were the same rows
