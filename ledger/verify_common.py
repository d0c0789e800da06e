"""What both halves of a verification share: the failure it reports, the checkpoints, reading entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from ledger.models import Entry
from ledger.orm import core_table

CHUNK_ENTRIES: Final = 2_000


class VerificationFailure(Exception):
    """What is wrong, and where: ``what`` is one of the names in :data:`FAILURE_KINDS`."""

    def __init__(self, seq: int | None, what: str, detail: str) -> None:
        super().__init__(f"seq {seq}: {what}: {detail}" if seq is not None else f"{what}: {detail}")
        self.seq = seq
        self.what = what
        self.detail = detail

    @property
    def order(self) -> int:
        """Where the failure sorts among others: its seq, or -1 for one that precedes every entry."""
        return self.seq if self.seq is not None else -1

    def __reduce__(self) -> tuple[type[VerificationFailure], tuple[int | None, str, str]]:
        # Crosses the pipe from the integrity process intact (Exception pickles only ``args``).
        return (VerificationFailure, (self.seq, self.what, self.detail))


FAILURE_KINDS: Final = (
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


class StoredCheckpoint(NamedTuple):
    """A signed checkpoint as stored; a named tuple, so that it pickles into the integrity process as it is
    (a compiled frozen dataclass does not unpickle: ``ledger/native.py``)."""

    id: int
    size: int
    root: bytes
    note: str


ALL_COLUMNS: Final = ("seq", "request_id", "kind", "body", "leaf_hash", "subtree_hashes")
INTEGRITY_COLUMNS: Final = ("seq", "body", "leaf_hash", "subtree_hashes")
"""What the integrity checks read: the row's kind and request id are the replay's to compare."""
REPLAY_COLUMNS: Final = ("seq", "request_id", "kind", "body")
"""What the replay reads beside an integrity process: no hashes."""


def read_entries(
    session: Session, first: int, end: int | None, columns: Sequence[str] = ALL_COLUMNS
) -> Sequence[Row[Any]]:
    """Up to :data:`CHUNK_ENTRIES` stored entries from ``seq >= first`` (and below ``end`` if given).

    Each row holds ``columns`` of the entry, in that order. Through the session's connection as a Core
    statement: plain rows, none of the ORM's loading work.
    """
    table = core_table(Entry)
    query = select(*(table.c[name] for name in columns)).where(table.c.seq >= first)
    if end is not None:
        query = query.where(table.c.seq < end)
    return session.connection().execute(query.order_by(table.c.seq).limit(CHUNK_ENTRIES)).all()
