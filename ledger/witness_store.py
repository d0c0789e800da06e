"""What a witness remembers of each log it witnesses: the latest checkpoint it cosigned, and the evidence
of checkpoints it refused to cosign because they contradict that one.

c2sp.org/tlog-witness asks the witness to check a request's old size against the latest checkpoint it
cosigned and to persist the new one *atomically*, or two requests racing could roll the log back (the
spec's example: B advances to N+K, then A, checked against the old state, "advances" to N). Here the
check and the write happen inside one SQLite ``BEGIN IMMEDIATE`` transaction, which holds the file's
write lock from the read to the commit, across threads and processes alike. The state is the witness's
own file, not the registry's database: a witness is an outsider with its own machine.

Tree sizes may reach 2**64 - 1 (tlog-checkpoint), beyond SQLite's signed 64-bit integers, so they are
stored as decimal text and compared in Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS witnessed_logs (
    origin TEXT PRIMARY KEY,
    size TEXT NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    cosigned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refused_checkpoints (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    old_size TEXT NOT NULL,
    note TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at TEXT NOT NULL
);
"""
BUSY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class CosignedCheckpoint:
    """The latest checkpoint of a log that the witness cosigned."""

    size: int
    root: bytes
    note: str
    cosigned_at: datetime


@dataclass(frozen=True)
class RefusedCheckpoint:
    origin: str
    old_size: int
    note: str
    reason: str
    received_at: datetime


class LogState:
    """One log's state inside the transaction of :meth:`WitnessStore.advancing`."""

    def __init__(
        self, connection: sqlite3.Connection, origin: str, latest: CosignedCheckpoint | None
    ) -> None:
        self._connection = connection
        self.origin = origin
        self.latest = latest
        self.evidence_kept = False

    @property
    def size(self) -> int:
        """The size of the latest cosigned checkpoint; 0 if the witness never cosigned this log."""
        return self.latest.size if self.latest is not None else 0

    def advance(self, size: int, root: bytes, note: str, now: datetime) -> None:
        """Record ``note`` as the latest cosigned checkpoint (the caller checked that it extends)."""
        self._connection.execute(
            "INSERT INTO witnessed_logs (origin, size, root, note, cosigned_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
            "note = excluded.note, cosigned_at = excluded.cosigned_at",
            (self.origin, str(size), root, note, now.isoformat()),
        )
        self.latest = CosignedCheckpoint(size, root, note, now)

    def refuse(self, old_size: int, note: str, reason: str, now: datetime) -> None:
        """Keep a validly signed checkpoint that contradicts the latest cosigned one: evidence."""
        self._connection.execute(
            "INSERT INTO refused_checkpoints (origin, old_size, note, reason, received_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (self.origin, str(old_size), note, reason, now.isoformat()),
        )
        self.evidence_kept = True


class WitnessStore:
    """The witness's state file (SQLite), created on first use."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with closing(self._connect()) as connection:
            connection.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are begun explicitly. The default rollback journal with
        # synchronous=FULL makes a commit durable before the witness answers, as the spec requires.
        return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)

    @contextmanager
    def advancing(self, origin: str) -> Iterator[LogState]:
        """The log's state under the write lock, committed when the block ends.

        A block that raises writes nothing, except the evidence it kept with :meth:`LogState.refuse`
        before raising its refusal.
        """
        with closing(self._connect()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            state = LogState(connection, origin, _latest(connection, origin))
            try:
                yield state
            except BaseException:
                connection.execute("COMMIT" if state.evidence_kept else "ROLLBACK")
                raise
            connection.execute("COMMIT")

    def latest(self, origin: str) -> CosignedCheckpoint | None:
        with closing(self._connect()) as connection:
            return _latest(connection, origin)

    def cosigned_sizes(self) -> list[tuple[str, int]]:
        """Every log witnessed so far, by origin, with the size of its latest cosigned checkpoint."""
        with closing(self._connect()) as connection:
            rows = connection.execute("SELECT origin, size FROM witnessed_logs ORDER BY origin").fetchall()
        return [(origin, int(size)) for origin, size in rows]

    def refused(self, origin: str | None = None) -> list[RefusedCheckpoint]:
        """The refused checkpoints kept as evidence, oldest first."""
        query = "SELECT origin, old_size, note, reason, received_at FROM refused_checkpoints"
        parameters: tuple[str, ...] = ()
        if origin is not None:
            query, parameters = query + " WHERE origin = ?", (origin,)
        with closing(self._connect()) as connection:
            rows = connection.execute(query + " ORDER BY id", parameters).fetchall()
        return [
            RefusedCheckpoint(row[0], int(row[1]), row[2], row[3], datetime.fromisoformat(row[4]))
            for row in rows
        ]


def _latest(connection: sqlite3.Connection, origin: str) -> CosignedCheckpoint | None:
    row = connection.execute(
        "SELECT size, root, note, cosigned_at FROM witnessed_logs WHERE origin = ?", (origin,)
    ).fetchone()
    if row is None:
        return None
    cosigned_at = datetime.fromisoformat(row[3])
    return CosignedCheckpoint(int(row[0]), bytes(row[1]), row[2], cosigned_at.astimezone(UTC))
