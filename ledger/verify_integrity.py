"""The integrity half of a verification: hashes, canonical bodies, the chain, the tree and signed roots.

Everything here depends on the entry rows alone, never on holdings, so it can run in a second process
beside the replay of the rules (:class:`IntegrityProcess`): ``tanhui ledger verify --jobs 2`` reads
the entries twice, once in each process, and reports whichever problem comes first in ``seq`` order.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Final

from ledger import merkle
from ledger.database import Database
from ledger.entries import GENESIS_PREV, ParsedBody, parse_body
from ledger.runtime import tune_gc
from ledger.verify_common import INTEGRITY_COLUMNS, StoredCheckpoint, VerificationFailure, read_entries


class EntryIntegrity:
    """The running state of the integrity checks: the next seq, the previous leaf, the tree so far."""

    def __init__(self, checkpoints: Sequence[StoredCheckpoint]) -> None:
        self.tree = merkle.TreeBuilder()
        self.roots_due: dict[int, list[StoredCheckpoint]] = {}
        for checkpoint in checkpoints:
            self.roots_due.setdefault(checkpoint.size, []).append(checkpoint)
        self.prev = GENESIS_PREV
        self.expected = 0
        self._check_root()

    def check(self, seq: int, body: str, stored_leaf: bytes, stored_nodes: bytes) -> ParsedBody:
        """Check one stored entry (the next in ``seq`` order); returns its parsed body.

        What the body says of its own row (kind, request id) and of time is the replay's to check.
        """
        if seq != self.expected:
            raise VerificationFailure(self.expected, "missing entry", f"the next stored entry is {seq}")
        raw = body.encode("utf-8")
        leaf = merkle.leaf_hash(raw)
        if leaf != stored_leaf:
            raise VerificationFailure(seq, "leaf hash", "the stored leaf hash is not SHA-256(0x00 || body)")
        try:
            parsed = parse_body(raw, self.prev)
        except ValueError as exc:
            raise VerificationFailure(seq, "body", str(exc)) from exc
        if parsed.seq != seq:
            raise VerificationFailure(seq, "body", f"the body says seq {parsed.seq}")
        if parsed.prev != self.prev:
            raise VerificationFailure(seq, "chain link", "prev is not the leaf hash of the entry before")
        if b"".join(self.tree.append(leaf)) != stored_nodes:
            raise VerificationFailure(seq, "tree node", "a stored subtree hash is wrong")
        if self.tree.size in self.roots_due:
            self._check_root()
        self.prev, self.expected = leaf.hex(), seq + 1
        return parsed

    def check_rows(self, rows: Sequence[Any]) -> None:
        """Check rows of :data:`~ledger.verify_common.INTEGRITY_COLUMNS`."""
        check = self.check
        for seq, body, leaf, nodes in rows:
            check(seq, body, bytes(leaf), bytes(nodes))

    def _check_root(self) -> None:
        for checkpoint in self.roots_due.pop(self.tree.size, ()):
            if self.tree.root() != checkpoint.root:
                raise VerificationFailure(
                    self.tree.size - 1 if self.tree.size else None,
                    "root",
                    f"the root of the first {self.tree.size} entries does not match "
                    f"signed checkpoint #{checkpoint.id}",
                )


# --- in a second process -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrityOutcome:
    """How the integrity process ended: with the last leaf hash checked, or with ``failure`` at its seq."""

    last_leaf: str
    failure: VerificationFailure | None

    def __reduce__(self) -> tuple[type[IntegrityOutcome], tuple[str, VerificationFailure | None]]:
        # Through the constructor, as compiled frozen dataclasses need (ledger/native.py).
        return (IntegrityOutcome, (self.last_leaf, self.failure))


class IntegrityProcessFailed(Exception):
    """The integrity process could not finish its checks: it raised an error, died, or stopped moving."""


STALL_LIMIT_S: Final = 300.0
"""How long the integrity process may go without a word before it is taken to hang, and stopped.

It reports after every chunk of entries, which takes well under a second, and each of its statements
is bounded by the database's own limits (PostgreSQL: the statement timeout of ``ledger.database``):
five minutes of silence means it is stuck (a connection that never answers, for one), not slow.
"""


class IntegrityProcess:
    """The integrity checks of the entries ``seq < end``, run in a spawned process over its own connection.

    The process reports its progress after every chunk, so the replay can stop as soon as the first
    problem of either half is known: :meth:`outcome_through` waits only until the integrity checks have
    passed the seq that matters, and no longer than ``stall_limit`` seconds after the process last spoke.
    """

    def __init__(
        self,
        url: str,
        end: int,
        checkpoints: Sequence[StoredCheckpoint],
        stall_limit: float = STALL_LIMIT_S,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_run, args=(url, end, list(checkpoints), send), name="tanhui-verify-integrity"
        )
        self._process.start()
        send.close()
        self._checked = 0
        self._outcome: IntegrityOutcome | None = None
        self._stall_limit = stall_limit
        self._last_heard = time.monotonic()

    def failure_before(self, seq: int) -> VerificationFailure | None:
        """A failure already reported at a seq below ``seq``, without waiting."""
        while self._outcome is None and self._receive.poll():
            self._take()
        failure = self._outcome.failure if self._outcome else None
        return failure if failure is not None and failure.order < seq else None

    def outcome_through(self, seq: int | None) -> IntegrityOutcome | None:
        """Wait until the checks have passed ``seq`` (or finished if ``None``); the outcome if finished."""
        while self._outcome is None and (seq is None or self._checked <= seq):
            if self._receive.poll(1.0):  # a message, or the end of the pipe if the process died
                self._take()
            elif time.monotonic() - self._last_heard > self._stall_limit:
                self._process.terminate()
                self._process.join(5.0)
                raise IntegrityProcessFailed(
                    f"the integrity process made no progress for {self._stall_limit:g} s and was stopped"
                )
        return self._outcome

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()

    def _take(self) -> None:
        try:
            message = self._receive.recv()
        except EOFError:  # the process ended without a last word: killed, or it could not start
            self._process.join(5.0)
            raise IntegrityProcessFailed(
                f"the integrity process died (exit code {self._process.exitcode})"
            ) from None
        self._last_heard = time.monotonic()
        if message[0] == "progress":
            self._checked = message[1]
        elif message[0] == "done":
            self._outcome = IntegrityOutcome(message[2], None)
            self._checked = message[1]
        elif message[0] == "failure":
            self._outcome = IntegrityOutcome("", message[1])
        else:
            raise IntegrityProcessFailed(f"the integrity process failed: {message[1]}")


def _run(url: str, end: int, checkpoints: list[StoredCheckpoint], send: Connection) -> None:
    """The integrity process: check the entries below ``end`` in chunks, reporting after each."""
    # Ctrl-C on a terminal reaches the whole process group: the parent stops this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_gc()
    database = Database(url)
    try:
        integrity = EntryIntegrity(checkpoints)
        with database.reading() as session:
            while True:
                rows = read_entries(session, integrity.expected, end, INTEGRITY_COLUMNS)
                if not rows:
                    break
                integrity.check_rows(rows)
                send.send(("progress", integrity.expected))
        send.send(("done", integrity.expected, integrity.prev))
    except VerificationFailure as failure:
        send.send(("failure", failure))
    except Exception as exc:  # reported to the parent, which raises it
        send.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        database.dispose()
        send.close()
