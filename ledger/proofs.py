"""Read-only access for outside verifiers: entries (one by one or a page at a time), inclusion and
consistency proofs, certificate proofs.

Proofs are served only for tree sizes that a signed checkpoint has committed to; a proof for any
other size, ``seq >= size``, ``from = 0`` or ``from > to`` is refused (:class:`ProofUnavailable`), never
made up. Each proof reads O(log n) stored subtree hashes in one query.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import limits, merkle
from ledger.checkpoints import latest
from ledger.errors import NotFound, ProofUnavailable
from ledger.models import Checkpoint, Entry
from ledger.tlog_proof import format_tlog_proof
from ledger.tree_store import read_nodes
from ledger.witnessing import cosigned_note


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    body: str
    leaf_hash: bytes


def entry(session: Session, seq: int) -> StoredEntry:
    row = session.execute(select(Entry.seq, Entry.body, Entry.leaf_hash).where(Entry.seq == seq)).first()
    if row is None:
        raise NotFound(f"no entry {seq}", field="seq")
    return StoredEntry(row.seq, row.body, bytes(row.leaf_hash))


@dataclass(frozen=True)
class EntryPage:
    """Consecutive entries from ``start``, as many as the page's limits allow."""

    start: int
    entries: list[StoredEntry]
    complete: bool
    """True when the page holds all it ever will (its limit, or its byte budget was reached), so that
    it can be cached for good; False when it ended at the newest entry, and later asks may list more."""


def entry_page(session: Session, start: int, limit: int) -> EntryPage:
    """Up to ``limit`` entries from seq ``start`` on, in order: one range read on the primary key.

    The page stops before an entry whose body would take the page's bodies past
    ``limits.MAX_PAGE_BODY_BYTES``, but always holds its first entry if it exists, so that paging through
    the log always advances. What a page holds depends only on ``start``, ``limit`` and the entries, which
    never change.
    """
    budget = limits.MAX_PAGE_BODY_BYTES
    if start < 0 or not 1 <= limit <= limits.MAX_PAGE_ENTRIES:
        raise ValueError(f"a page starts at 0 or later and lists 1 to {limits.MAX_PAGE_ENTRIES} entries")
    rows = session.execute(
        select(Entry.seq, Entry.body, Entry.leaf_hash)
        .where(Entry.seq >= start, Entry.seq < start + limit)
        .order_by(Entry.seq),
        execution_options={"yield_per": 64},  # PostgreSQL: a server-side cursor, not every row at once
    )
    entries: list[StoredEntry] = []
    total = 0
    with rows:  # read row by row (up to 1,000 bodies of up to 256 KiB) and closed when the page is full
        for seq, body, leaf in rows:
            total += len(body.encode("utf-8"))
            if entries and total > budget:
                return EntryPage(start, entries, complete=True)
            entries.append(StoredEntry(seq, body, bytes(leaf)))
    return EntryPage(start, entries, complete=len(entries) == limit)


def published_size(session: Session) -> int:
    """The largest tree size a signed checkpoint commits to (one indexed scalar, no checkpoint loaded)."""
    return session.scalar(select(func.max(Checkpoint.size))) or 0


def inclusion(session: Session, seq: int, size: int) -> list[bytes]:
    published = published_size(session)
    if size > published:
        raise ProofUnavailable(
            f"no signed checkpoint covers size {size} (latest is {published})", field="size"
        )
    if not 0 <= seq < size:
        raise ProofUnavailable(f"seq must be at least 0 and less than size {size}", field="seq")
    return merkle.inclusion_proof(seq, size, read_nodes(session, merkle.inclusion_node_ids(seq, size)))


def consistency(session: Session, size1: int, size2: int) -> list[bytes]:
    published = published_size(session)
    if size2 > published:
        raise ProofUnavailable(
            f"no signed checkpoint covers size {size2} (latest is {published})", field="to"
        )
    if size1 <= 0:
        raise ProofUnavailable("from must be at least 1", field="from")
    if size1 > size2:
        raise ProofUnavailable("from must not exceed to", field="from")
    return merkle.consistency_proof(
        size1, size2, read_nodes(session, merkle.consistency_node_ids(size1, size2))
    )


@dataclass(frozen=True)
class EntryProof:
    """Everything an offline verifier needs for one entry: body, signed checkpoint, inclusion path."""

    seq: int
    body: str
    checkpoint: str
    inclusion: list[bytes]

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "body": self.body,
            "checkpoint": self.checkpoint,
            "inclusion": [node.hex() for node in self.inclusion],
        }

    def as_tlog_proof(self) -> str:
        """The same proof as a C2SP ``tlog-proof@v1`` file."""
        return format_tlog_proof(self.seq, self.inclusion, self.checkpoint)


def entry_proof(session: Session, seq: int, checkpoint: Checkpoint | None = None) -> EntryProof:
    """The proof of entry ``seq`` against ``checkpoint`` (default: the latest, which must cover it)."""
    checkpoint = checkpoint or latest(session)
    stored = entry(session, seq)
    if checkpoint is None or checkpoint.size <= seq:
        raise ProofUnavailable(f"no signed checkpoint covers entry {seq} yet", field="seq")
    path = merkle.inclusion_proof(
        seq, checkpoint.size, read_nodes(session, merkle.inclusion_node_ids(seq, checkpoint.size))
    )
    note = cosigned_note(session, checkpoint)
    return EntryProof(seq=seq, body=stored.body, checkpoint=note, inclusion=path)
