"""Full verification of the stored ledger, as an outside auditor would do it, in constant memory.

One pass over the entries in ``seq`` order, a chunk at a time, recomputes every leaf hash, checks the
body is canonical and the ``prev`` chain links, recomputes the stored subtree hashes and the root at every
checkpoint, verifies every checkpoint's signature, and replays the rules of :mod:`ledger.rules` to rebuild
the holdings, comparing them with the stored state: retired and cancelled ranges chunk by chunk as they
happen, live holdings at the end. The first discrepancy stops it, naming the seq and what is wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import merkle
from ledger.checkpoint import open_checkpoint
from ledger.entries import GENESIS_PREV, parse_body
from ledger.errors import LedgerError
from ledger.models import Account, Batch, Checkpoint, ClosedRange, Entry, Head, Holding
from ledger.note import NoteVerifier
from ledger.rules import MemoryState, apply
from ledger.serials import serial_number

CHUNK_ENTRIES = 2_000


class VerificationFailure(Exception):
    """What is wrong, and where: ``what`` is one of the names in :data:`FAILURE_KINDS`."""

    def __init__(self, seq: int | None, what: str, detail: str) -> None:
        super().__init__(f"seq {seq}: {what}: {detail}" if seq is not None else f"{what}: {detail}")
        self.seq = seq
        self.what = what
        self.detail = detail


FAILURE_KINDS = (
    "missing entry",
    "extra entry",
    "leaf hash",
    "body",
    "chain link",
    "request id",
    "time",
    "tree node",
    "replay",
    "holdings",
    "batch",
    "root",
    "signature",
    "head",
)


@dataclass(frozen=True)
class VerificationReport:
    size: int
    checkpoints: int
    latest_checkpoint_size: int
    live_ranges: int
    closed_ranges: int
    batches: int


Closed = tuple[str, int, int, str, str]
"""``(batch, start, end, account, status)`` of a retired or cancelled range."""


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    size: int
    root: bytes
    note: str


def verify_ledger(
    session: Session,
    verifiers: Sequence[NoteVerifier],
    origin: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Verify everything; raises :class:`VerificationFailure` at the first problem."""
    checkpoints = [
        StoredCheckpoint(row.id, row.size, bytes(row.root_hash), row.note)
        for row in session.execute(
            select(Checkpoint.id, Checkpoint.size, Checkpoint.root_hash, Checkpoint.note).order_by(
                Checkpoint.size, Checkpoint.id
            )
        )
    ]
    _check_signatures(checkpoints, verifiers, origin)
    replay = _Replay(set(session.scalars(select(Account.id))), checkpoints)
    closed_count = batch_count = 0
    while True:
        first = replay.expected
        rows = session.execute(
            select(Entry.seq, Entry.request_id, Entry.kind, Entry.body, Entry.leaf_hash, Entry.subtree_hashes)
            .where(Entry.seq >= first)
            .order_by(Entry.seq)
            .limit(CHUNK_ENTRIES)
        ).all()
        if not rows:
            break
        replay.closes.clear()
        replay.issued.clear()
        for row in rows:
            replay.check_entry(
                row.seq,
                request_id=row.request_id,
                kind=row.kind,
                body=row.body,
                stored_leaf=bytes(row.leaf_hash),
                stored_nodes=bytes(row.subtree_hashes),
            )
        closed_count += _compare_closed(session, first, replay.expected, replay.closes)
        batch_count += _compare_batches(session, first, replay.expected, replay.issued)
        if progress is not None:
            progress(len(rows))

    _check_end(session, replay.expected, replay.prev, checkpoints, closed=closed_count, batches=batch_count)
    live = _compare_live(session, replay.state)
    return VerificationReport(
        size=replay.expected,
        checkpoints=len(checkpoints),
        latest_checkpoint_size=checkpoints[-1].size if checkpoints else 0,
        live_ranges=live,
        closed_ranges=closed_count,
        batches=batch_count,
    )


class _Replay:
    """The running state of one verification pass: chain, tree, holdings and what the chunk closed."""

    def __init__(self, accounts: set[str], checkpoints: Sequence[StoredCheckpoint]) -> None:
        self.closes: list[tuple[int, Closed]] = []
        self.issued: list[tuple[int, str, int]] = []
        self.state = MemoryState(accounts, on_close=self._closed)
        self.tree = merkle.TreeBuilder()
        self.roots_due: dict[int, list[StoredCheckpoint]] = {}
        for checkpoint in checkpoints:
            self.roots_due.setdefault(checkpoint.size, []).append(checkpoint)
        self.prev = GENESIS_PREV
        self.last_time = ""
        self.expected = 0
        self._check_root()

    def _closed(self, status: str, account: str, batch: str, span: tuple[int, int], seq: int) -> None:
        self.closes.append((seq, (batch, span[0], span[1], account, status)))

    def check_entry(
        self, seq: int, *, request_id: str, kind: str, body: str, stored_leaf: bytes, stored_nodes: bytes
    ) -> None:
        if seq != self.expected:
            raise VerificationFailure(self.expected, "missing entry", f"the next stored entry is {seq}")
        raw = body.encode("utf-8")
        leaf = merkle.leaf_hash(raw)
        if leaf != stored_leaf:
            raise VerificationFailure(seq, "leaf hash", "the stored leaf hash is not SHA-256(0x00 || body)")
        try:
            parsed = parse_body(raw)
        except ValueError as exc:
            raise VerificationFailure(seq, "body", str(exc)) from exc
        if parsed.seq != seq:
            raise VerificationFailure(seq, "body", f"the body says seq {parsed.seq}")
        if parsed.prev != self.prev:
            raise VerificationFailure(seq, "chain link", "prev is not the leaf hash of the entry before")
        if parsed.kind != kind:
            raise VerificationFailure(seq, "body", f"stored kind {kind!r} but the body says {parsed.kind!r}")
        if parsed.request != hashlib.sha256(request_id.encode("utf-8")).hexdigest():
            raise VerificationFailure(seq, "request id", "the stored request id does not match the body")
        if parsed.time < self.last_time:
            raise VerificationFailure(seq, "time", f"{parsed.time} is earlier than the entry before")
        if b"".join(self.tree.append(leaf)) != stored_nodes:
            raise VerificationFailure(seq, "tree node", "a stored subtree hash is wrong")
        try:
            apply(self.state, seq, kind, parsed.data)
        except LedgerError as exc:
            raise VerificationFailure(seq, "replay", str(exc)) from exc
        if kind == "issue":
            batch = parsed.data["batch"]
            self.issued.append((seq, batch["id"], batch["quantity_kg"]))
        self._check_root()
        self.prev, self.last_time, self.expected = leaf.hex(), parsed.time, seq + 1

    def _check_root(self) -> None:
        for checkpoint in self.roots_due.pop(self.tree.size, ()):
            if self.tree.root() != checkpoint.root:
                raise VerificationFailure(
                    self.tree.size - 1 if self.tree.size else None,
                    "root",
                    f"the root of the first {self.tree.size} entries does not match "
                    f"signed checkpoint #{checkpoint.id}",
                )


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


def _compare_closed(session: Session, first: int, end: int, replayed: list[tuple[int, Closed]]) -> int:
    stored = [
        tuple(row)
        for row in session.execute(
            select(
                ClosedRange.entry_seq,
                ClosedRange.batch_id,
                ClosedRange.start_kg,
                ClosedRange.end_kg,
                ClosedRange.account_id,
                ClosedRange.status,
            )
            .where(ClosedRange.entry_seq >= first, ClosedRange.entry_seq < end)
            .order_by(ClosedRange.entry_seq, ClosedRange.batch_id, ClosedRange.start_kg)
        )
    ]
    difference = _first_difference(stored, sorted((seq, *closed) for seq, closed in replayed))
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


def _compare_batches(session: Session, first: int, end: int, issued: list[tuple[int, str, int]]) -> int:
    stored = [
        tuple(row)
        for row in session.execute(
            select(Batch.issue_seq, Batch.id, Batch.quantity_kg)
            .where(Batch.issue_seq >= first, Batch.issue_seq < end)
            .order_by(Batch.issue_seq)
        )
    ]
    difference = _first_difference(stored, list(issued))
    if difference is not None:
        side, (seq, batch, quantity) = difference
        what = (
            "is stored but differs from the entry"
            if side == "stored"
            else "issued by the entry is not stored"
        )
        raise VerificationFailure(seq, "batch", f"batch {batch} of {quantity} kg {what}")
    return len(stored)


def _check_end(
    session: Session,
    size: int,
    last_leaf: str,
    checkpoints: Sequence[StoredCheckpoint],
    *,
    closed: int,
    batches: int,
) -> None:
    for checkpoint in checkpoints:
        if checkpoint.size > size:
            raise VerificationFailure(
                size, "missing entry", f"signed checkpoint #{checkpoint.id} covers {checkpoint.size} entries"
            )
    head = session.execute(select(Head.size, Head.last_leaf_hash).where(Head.id == 1)).one()
    if head.size != size or (size and bytes(head.last_leaf_hash).hex() != last_leaf):
        raise VerificationFailure(
            size, "head", f"the ledger head says {head.size} entries, {size} are stored"
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
