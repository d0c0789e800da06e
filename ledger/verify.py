"""Full verification of the stored ledger, as an outside auditor would do it, in constant memory.

One pass over the entries in ``seq`` order, a chunk at a time, recomputes every leaf hash, checks the
body is canonical and the ``prev`` chain links, recomputes the stored subtree hashes and the root at every
checkpoint (:mod:`ledger.verify_integrity`), verifies every checkpoint's signature, and replays the rules
of :mod:`ledger.rules` to rebuild the holdings, comparing them with the stored state: retired and
cancelled ranges chunk by chunk as they happen, live holdings at the end. The first discrepancy stops it,
naming the seq and what is wrong.

With ``parallel_url`` the integrity checks run in a second process over their own connection while this
one replays the rules; the report is the same, and the first problem in ``seq`` order is the one named
(at the same seq, the integrity problem, as one process would find it first).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any, Final

import orjson
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from ledger.checkpoint import open_checkpoint
from ledger.driver_sql import DriverStatement
from ledger.entries import request_digest
from ledger.errors import LedgerError
from ledger.models import Account, Batch, Checkpoint, ClosedRange, Entry, Head, Holding
from ledger.note import NoteVerifier
from ledger.orm import as_tuples, core_table
from ledger.rules import ClosedRow, MemoryState, apply
from ledger.serials import serial_number
from ledger.verify_common import (
    ALL_COLUMNS,
    CHUNK_ENTRIES,
    FAILURE_KINDS,
    REPLAY_COLUMNS,
    StoredCheckpoint,
    VerificationFailure,
    read_entries,
)
from ledger.verify_integrity import EntryIntegrity, IntegrityProcess

__all__ = ["FAILURE_KINDS", "VerificationFailure", "VerificationReport", "verify_ledger"]


@dataclass(frozen=True)
class VerificationReport:
    size: int
    checkpoints: int
    latest_checkpoint_size: int
    live_ranges: int
    closed_ranges: int
    batches: int

    def __reduce__(self) -> tuple[type[VerificationReport], tuple[int, int, int, int, int, int]]:
        # Through the constructor, as compiled frozen dataclasses need (ledger/native.py).
        fields = (self.size, self.checkpoints, self.latest_checkpoint_size)
        return (VerificationReport, (*fields, self.live_ranges, self.closed_ranges, self.batches))


def verify_ledger(
    session: Session,
    verifiers: Sequence[NoteVerifier],
    origin: str | None = None,
    progress: Callable[[int], None] | None = None,
    parallel_url: str | None = None,
) -> VerificationReport:
    """Verify everything; raises :class:`VerificationFailure` at the first problem.

    ``parallel_url``: the database's URL, for a second process that runs the integrity checks (it must
    reach the same database: not an in-memory SQLite one).
    """
    checkpoints = [
        StoredCheckpoint(checkpoint_id, size, bytes(root), note)
        for checkpoint_id, size, root, note in _core_rows(
            session,
            select(Checkpoint.id, Checkpoint.size, Checkpoint.root_hash, Checkpoint.note).order_by(
                Checkpoint.size, Checkpoint.id
            ),
        )
    ]
    _check_signatures(checkpoints, verifiers, origin)
    replay = _Replay(set(session.scalars(select(Account.id))))
    if parallel_url is None:
        integrity = EntryIntegrity(checkpoints)
        counts = _replay_entries(session, replay, progress, integrity=integrity)
        last_leaf = integrity.prev
    else:
        # Both processes stop at the entries this session sees, whatever is appended meanwhile.
        last = session.scalar(select(func.max(Entry.seq)))
        end = 0 if last is None else last + 1
        process = IntegrityProcess(parallel_url, end, checkpoints)
        try:
            counts, last_leaf = _replay_beside(session, replay, progress, process)
        finally:
            process.close()
    closed_count, batch_count = counts
    _check_end(
        session,
        replay.expected,
        (last_leaf, replay.last_time),
        checkpoints,
        closed=closed_count,
        batches=batch_count,
    )
    live = _compare_live(session, replay.state)
    return VerificationReport(
        size=replay.expected,
        checkpoints=len(checkpoints),
        latest_checkpoint_size=checkpoints[-1].size if checkpoints else 0,
        live_ranges=live,
        closed_ranges=closed_count,
        batches=batch_count,
    )


def _replay_entries(
    session: Session,
    replay: _Replay,
    progress: Callable[[int], None] | None,
    *,
    integrity: EntryIntegrity | None = None,
    stop: Callable[[int], bool] = lambda _end: False,
) -> tuple[int, int]:
    """Replay every stored entry chunk by chunk (checking its integrity too, if given).

    Returns the numbers of closed ranges and batches compared. ``stop(end)`` after a chunk ends the
    pass early, when a problem before ``end`` is already known.
    """
    closed_count = batch_count = 0
    while True:
        first = replay.expected
        rows = read_entries(session, first, None, ALL_COLUMNS if integrity else REPLAY_COLUMNS)
        if not rows:
            break
        replay.closes.clear()
        replay.issued.clear()
        try:
            _replay_rows(replay, rows, integrity)
        except VerificationFailure:
            # A stored closed range or batch of an earlier entry in this chunk may be wrong: name it first.
            _compare_closed(session, first, replay.expected, replay.closes)
            _compare_batches(session, first, replay.expected, replay.issued)
            raise
        closed_count += _compare_closed(session, first, replay.expected, replay.closes)
        batch_count += _compare_batches(session, first, replay.expected, replay.issued)
        if progress is not None:
            progress(len(rows))
        if stop(replay.expected):
            break
    return closed_count, batch_count


def _replay_rows(replay: _Replay, rows: Sequence[Any], integrity: EntryIntegrity | None) -> None:
    """Rows of :data:`ALL_COLUMNS` with ``integrity``, of :data:`REPLAY_COLUMNS` without."""
    apply = replay.apply
    if integrity is not None:
        check = integrity.check
        for seq, request_id, kind, body, leaf, nodes in rows:
            parsed = check(seq, body, bytes(leaf), bytes(nodes))
            apply(seq, request_id, kind, (parsed.kind, parsed.request, parsed.time, parsed.data))
    else:
        for seq, request_id, kind, body in rows:
            apply(seq, request_id, kind, _body_fields(seq, body))


def _replay_beside(
    session: Session,
    replay: _Replay,
    progress: Callable[[int], None] | None,
    process: IntegrityProcess,
) -> tuple[tuple[int, int], str]:
    """Replay here while ``process`` checks integrity; raise the first failure of the two in seq order."""
    try:
        counts = _replay_entries(
            session, replay, progress, stop=lambda end: process.failure_before(end) is not None
        )
    except VerificationFailure as failure:
        # An integrity problem at this seq or before it comes first.
        outcome = process.outcome_through(failure.seq)
        if outcome is not None and outcome.failure is not None and outcome.failure.order <= failure.order:
            raise outcome.failure from None
        raise
    outcome = process.outcome_through(None)
    assert outcome is not None
    if outcome.failure is not None:
        raise outcome.failure
    return counts, outcome.last_leaf


Stated = tuple[str, str, str, dict[str, Any]]
"""What a body states besides its place in the chain: kind, request digest, time and data."""


def _body_fields(seq: int, body: str) -> Stated:
    """Kind, request digest, time and data of a stored body, read without the integrity checks.

    The other process checks the body strictly; here only what the replay needs is made sure of.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise VerificationFailure(seq, "body", f"not UTF-8 JSON: {exc}") from exc
    if type(value) is not dict:
        raise VerificationFailure(seq, "body", "not a JSON object")
    kind, request, time, data = value.get("kind"), value.get("request"), value.get("time"), value.get("data")
    if type(kind) is not str or type(request) is not str or type(time) is not str or type(data) is not dict:
        raise VerificationFailure(seq, "body", "not an entry body")
    return kind, request, time, data


class _Replay:
    """The replay half of one verification pass: what each body says of its row, and the rules.

    It checks the body's kind and request digest against the stored row and that time never runs
    backwards, replays the rules, and keeps what each chunk closed and issued for comparison.
    """

    def __init__(self, accounts: set[str]) -> None:
        self.closes: list[ClosedRow] = []
        self.issued: list[tuple[int, str, int]] = []
        self.state = MemoryState(accounts, closes=self.closes)
        self.expected = 0
        self.last_time = ""

    def apply(self, seq: int, request_id: str, kind: str, stated: Stated) -> None:
        """Check and replay one entry: its stored row (seq, request id, kind) and what its body states."""
        body_kind, request, time, data = stated
        if seq != self.expected:
            raise VerificationFailure(self.expected, "missing entry", f"the next stored entry is {seq}")
        if body_kind != kind:
            raise VerificationFailure(seq, "body", f"stored kind {kind!r} but the body says {body_kind!r}")
        if request != request_digest(request_id):
            raise VerificationFailure(seq, "request id", "the stored request id does not match the body")
        if time < self.last_time:
            raise VerificationFailure(seq, "time", f"{time} is earlier than the entry before")
        try:
            apply(self.state, seq, kind, data)
        except LedgerError as exc:
            raise VerificationFailure(seq, "replay", str(exc)) from exc
        if kind == "issue":
            batch = data["batch"]
            self.issued.append((seq, batch["id"], batch["quantity_kg"]))
        self.expected = seq + 1
        self.last_time = time


def _check_signatures(
    checkpoints: Sequence[StoredCheckpoint], verifiers: Sequence[NoteVerifier], origin: str | None
) -> None:
    for checkpoint in checkpoints:
        try:
            opened = open_checkpoint(checkpoint.note, verifiers, origin=origin)
        except ValueError as exc:
            raise VerificationFailure(
                None, "signature", f"checkpoint #{checkpoint.id} (size {checkpoint.size}): {exc}"
            ) from exc
        if opened.size != checkpoint.size or opened.root != checkpoint.root:
            raise VerificationFailure(
                None,
                "signature",
                f"checkpoint #{checkpoint.id}: stored size or root differs from the signed note",
            )


def _first_difference(stored: list[tuple[Any, ...]], wanted: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """The smallest row that is in one sorted list and not at the same place in the other, if any.

    Returns ``("stored", row)`` for a row stored but not derived, ``("derived", row)`` for a row the
    replay derives but that is not stored.
    """
    for have, want in zip_longest(stored, wanted):
        if have == want:
            continue
        if want is None or (have is not None and have < want):
            return ("stored", have)
        return ("derived", want)
    return None


def _compare_closed(session: Session, first: int, end: int, replayed: list[ClosedRow]) -> int:
    stored = _closed_rows(session, first, end)
    wanted = sorted(replayed)
    difference = None if stored == wanted else _first_difference(stored, wanted)
    if difference is not None:
        side, (seq, batch, start, stop, account, status) = difference
        what = (
            "is stored but no entry closes it"
            if side == "stored"
            else "is closed by the entry but not stored"
        )
        raise VerificationFailure(
            seq, "holdings", f"{status} range {serial_number(batch, start, stop)} of account {account} {what}"
        )
    return len(stored)


def _closed_rows_statement(_dialect: Dialect) -> Any:
    """The closed ranges of entries ``first <= seq < end``, in the order the replay sorts them."""
    table = core_table(ClosedRange)
    columns = (table.c.entry_seq, table.c.batch_id, table.c.start_kg, table.c.end_kg)
    return (
        select(*columns, table.c.account_id, table.c.status)
        .where(table.c.entry_seq >= bindparam("first"), table.c.entry_seq < bindparam("end"))
        .order_by(table.c.entry_seq, table.c.batch_id, table.c.start_kg)
    )


_CLOSED_ROWS: Final = DriverStatement(_closed_rows_statement)


def _closed_rows(session: Session, first: int, end: int) -> list[ClosedRow]:
    """The stored closed ranges of a chunk, as the driver's own tuples.

    About two thirds of entries close a range, so these rows are read as often as the entries; as the
    driver's tuples they cost a third less than as SQLAlchemy rows (all six columns are integers and
    text, which every driver gives back as they are).
    """
    return _CLOSED_ROWS.rows(session, {"first": first, "end": end})


def _compare_batches(session: Session, first: int, end: int, issued: list[tuple[int, str, int]]) -> int:
    table = core_table(Batch)
    stored = _core_rows(
        session,
        select(table.c.issue_seq, table.c.id, table.c.quantity_kg)
        .where(table.c.issue_seq >= first, table.c.issue_seq < end)
        .order_by(table.c.issue_seq),
    )
    difference = None if stored == issued else _first_difference(stored, list(issued))
    if difference is not None:
        side, (seq, batch, quantity) = difference
        what = (
            "is stored but differs from the entry"
            if side == "stored"
            else "issued by the entry is not stored"
        )
        raise VerificationFailure(seq, "batch", f"batch {batch} of {quantity} kg {what}")
    return len(stored)


def _core_rows(session: Session, query: Select[*tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows of a Core statement as plain tuples, in the session's transaction (no ORM loading)."""
    return list(as_tuples(session.connection().execute(query)))


def _check_end(
    session: Session,
    size: int,
    last: tuple[str, str],
    checkpoints: Sequence[StoredCheckpoint],
    *,
    closed: int,
    batches: int,
) -> None:
    """What follows the last entry: checkpoints no larger, the head where the sequencer will go on from
    (``last``: the last entry's leaf hash and time, as verified), and no closed range or batch left over."""
    for checkpoint in checkpoints:
        if checkpoint.size > size:
            raise VerificationFailure(
                size, "missing entry", f"signed checkpoint #{checkpoint.id} covers {checkpoint.size} entries"
            )
    last_leaf, last_time = last
    head = select(Head.size, Head.last_leaf_hash, Head.last_time).where(Head.id == 1)
    ((head_size, head_leaf, head_time),) = _core_rows(session, head)
    if head_size != size:
        raise VerificationFailure(
            size, "head", f"the ledger head says {head_size} entries, {size} are stored"
        )
    if size and bytes(head_leaf).hex() != last_leaf:
        raise VerificationFailure(size, "head", f"the ledger head's last leaf hash is not entry {size - 1}'s")
    # The next append's time is never earlier than the head's: a head moved later would date every
    # later entry wrongly, one moved earlier would let the next entry go back in time.
    if head_time != last_time:
        raise VerificationFailure(
            size, "head", f"the ledger head's last time is {head_time!r}, the last entry's {last_time!r}"
        )
    if session.scalar(select(func.count()).select_from(ClosedRange)) != closed:
        raise VerificationFailure(
            None, "holdings", "closed ranges are stored for entries that do not close them"
        )
    if session.scalar(select(func.count()).select_from(Batch)) != batches:
        raise VerificationFailure(None, "batch", "batches are stored that no entry issued")


def _compare_live(session: Session, state: MemoryState) -> int:
    """Compare stored live holdings with the replayed ones, streaming the stored rows in key order."""
    wanted = sorted(
        (account, batch, start, end)
        for (account, batch), spans in state.holdings.items()
        for start, end in spans
    )
    with session.execute(
        select(Holding.account_id, Holding.batch_id, Holding.start_kg, Holding.end_kg)
        .order_by(Holding.account_id, Holding.batch_id, Holding.start_kg)
        .execution_options(yield_per=CHUNK_ENTRIES)
    ) as stored:
        return _compare_live_rows(stored, wanted)


def _compare_live_rows(stored: Any, wanted: list[tuple[str, str, int, int]]) -> int:
    count = 0
    for have, want in zip_longest((tuple(row) for row in stored), wanted):
        if have is not None:
            count += 1
        if have == want:
            continue
        if want is None or (have is not None and have < want):
            account, batch, start, end = have
            detail = f"account {account} is stored as holding {serial_number(batch, start, end)}, "
            detail += "which the entries do not give it"
        else:
            account, batch, start, end = want
            detail = (
                f"account {account} should hold {serial_number(batch, start, end)}, which is not stored so"
            )
        raise VerificationFailure(None, "holdings", detail)
    return count
