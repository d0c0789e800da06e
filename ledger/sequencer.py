"""The one sequencer: appends entries under a database lock, each validated in the same transaction.

``append`` takes the ledger head's lock (PostgreSQL: ``SELECT … FOR UPDATE`` on the single head row;
SQLite: the write lock of the ``BEGIN IMMEDIATE`` transaction every writing unit of work starts with),
returns the first entry for every request id it has already seen, and otherwise, command by command,
resolves quantities to serial ranges, applies the rules of :mod:`ledger.rules` to the holdings as they
are at that moment, builds the canonical body and extends the Merkle tree. All rows are written in the
caller's transaction: a batch of commands is appended wholly or not at all, and nothing is visible
before the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final, NamedTuple

from mypy_extensions import mypyc_attr
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from ledger import limits, merkle
from ledger.bulk_insert import insert_rows
from ledger.commands import Command
from ledger.driver_sql import DriverStatement, key_in
from ledger.entries import GENESIS_PREV, format_time, make_body, parse_body
from ledger.errors import IdempotencyConflict, InvalidCommand
from ledger.holdings_store import DatabaseState, KnownAccounts
from ledger.models import BeneficiarySecret, Entry, Head
from ledger.orm import core_table
from ledger.rules import apply, repeats, resolve
from ledger.tree_store import read_nodes


class AppendedEntry(NamedTuple):
    """One entry as an append returns it: a named tuple, made cheaply for every entry appended."""

    seq: int
    kind: str
    request_id: str
    body: str
    leaf_hash: bytes
    data: dict[str, Any]
    repeated: bool = False
    """True when the request id had been seen: this is the first entry, nothing new was appended."""


# A NamedTuple's own __new__ is Python code; the tuple constructor is not (one is made per entry).
_new_entry: Final = partial(tuple.__new__, AppendedEntry)

ENTRY_COLUMNS: Final = ("seq", "request_id", "kind", "body", "leaf_hash", "subtree_hashes")
SECRET_COLUMNS: Final = ("seq", "name", "salt")
"""The columns of the rows the sequencer writes, in each table's own order (see ledger.bulk_insert)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


# Compiled (ledger/native.py), yet still a class to subclass: the crash tests wrap ``append`` to hold a
# transaction open or report its connection, as an operator's instrumentation might.
@mypyc_attr(allow_interpreted_subclasses=True)
class Sequencer:
    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._known_accounts = KnownAccounts()

    def append(self, session: Session, commands: Sequence[Command]) -> list[AppendedEntry]:
        """Append ``commands`` in order; returns one entry per command (first entry for repeats)."""
        if not 1 <= len(commands) <= limits.MAX_COMMANDS_PER_APPEND:
            raise InvalidCommand(f"append 1 to {limits.MAX_COMMANDS_PER_APPEND} commands at a time")
        for command in commands:
            command.validate()
        request_ids = [command.request_id for command in commands]
        if len(set(request_ids)) != len(request_ids):
            raise InvalidCommand("request ids repeat within one append", field="request_id")

        size, last_leaf_hash, last_time = self._lock_head(session)
        seen = self._seen(session, commands)
        state = DatabaseState(session, self._known_accounts)
        state.prefetch(commands)
        tree = merkle.TreeBuilder.from_nodes(size, read_nodes(session, merkle.frontier_node_ids(size)))
        prev = last_leaf_hash.hex() if size else GENESIS_PREV
        time = max(format_time(self._clock()), last_time)
        seq = size
        results: list[AppendedEntry] = []
        rows: list[tuple[int, str, str, str, bytes, bytes]] = []  # ENTRY_COLUMNS
        secrets: list[tuple[int, str, str]] = []  # SECRET_COLUMNS
        for command in commands:
            # Read once: each read of a command's field is a look-up in an interpreted object.
            request_id, kind = command.request_id, command.kind
            if request_id in seen:
                results.append(seen[request_id])
                continue
            data, secret = resolve(command, state)
            apply(state, seq, kind, data)
            body = make_body(
                seq=seq,
                prev=prev,
                time=time,
                kind=kind,
                request_id=request_id,
                data=data,
                plain_data=True,  # resolved from a validated command (see make_body)
            )
            leaf = merkle.leaf_hash(body)
            completed = tree.append(leaf)
            text = body.decode("utf-8")
            rows.append((seq, request_id, kind, text, leaf, b"".join(completed)))
            if secret is not None:
                secrets.append((seq, secret.name, secret.salt))
            results.append(_new_entry((seq, kind, request_id, text, leaf, data, False)))
            prev = leaf.hex()
            seq += 1
        if rows:
            insert_rows(session, core_table(Entry), ENTRY_COLUMNS, rows)
            state.flush()
            insert_rows(session, core_table(BeneficiarySecret), SECRET_COLUMNS, secrets)
            _MOVE_HEAD.execute(session, [{"size": seq, "leaf": rows[-1][4], "time": time}])
        return results

    @staticmethod
    def _lock_head(session: Session) -> tuple[int, bytes, str]:
        """The head's size, last leaf hash and last time, its row locked until the transaction ends."""
        rows = _LOCK_HEAD.rows(session)
        if not rows:
            raise RuntimeError("the ledger head row is missing: run the migrations (tanhui db upgrade)")
        size, last_leaf_hash, last_time = rows[0]
        return size, bytes(last_leaf_hash), last_time

    @staticmethod
    def _seen(session: Session, commands: Sequence[Command]) -> dict[str, AppendedEntry]:
        by_id = {command.request_id: command for command in commands}
        seen = {}
        for seq, request_id, kind, body, leaf, salt in _SEEN.rows(session, keys={"ids": list(by_id)}):
            data = parse_body(body.encode("utf-8")).data
            command = by_id[request_id]
            if not repeats(command, kind, data, salt):
                raise IdempotencyConflict(
                    f"request id {request_id} was already used for a different {kind} (entry {seq})",
                    field="request_id",
                )
            seen[request_id] = AppendedEntry(seq, kind, request_id, body, bytes(leaf), data, repeated=True)
        return seen


def _lock_head_statement(_dialect: Dialect) -> Any:
    head = core_table(Head)
    # SQLite leaves out FOR UPDATE: there the BEGIN IMMEDIATE of the unit of work holds the write lock.
    return (
        select(head.c.size, head.c.last_leaf_hash, head.c.last_time).where(head.c.id == 1).with_for_update()
    )


def _move_head_statement(_dialect: Dialect) -> Any:
    head = core_table(Head)
    values: dict[str, Any] = {
        "size": bindparam("size"),
        "last_leaf_hash": bindparam("leaf"),
        "last_time": bindparam("time"),
    }
    return update(head).where(head.c.id == 1).values(values)


def _seen_statement(dialect: Dialect) -> Any:
    """The entries of the given request ids, with the salt of a private beneficiary's commitment."""
    entry, secret = core_table(Entry), core_table(BeneficiarySecret)
    columns = (entry.c.seq, entry.c.request_id, entry.c.kind, entry.c.body, entry.c.leaf_hash)
    return (
        select(*columns, secret.c.salt)
        .select_from(entry.outerjoin(secret, secret.c.seq == entry.c.seq))
        .where(key_in(dialect, entry.c.request_id, "ids"))
    )


_LOCK_HEAD: Final = DriverStatement(_lock_head_statement)
_MOVE_HEAD: Final = DriverStatement(_move_head_statement)
_SEEN: Final = DriverStatement(_seen_statement)
