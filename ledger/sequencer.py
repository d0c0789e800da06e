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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from ledger import limits, merkle
from ledger.commands import Command
from ledger.entries import GENESIS_PREV, format_time, make_body, parse_body
from ledger.errors import IdempotencyConflict, InvalidCommand
from ledger.models import Account, Batch, BeneficiarySecret, ClosedRange, Entry, Head, Holding
from ledger.ranges import Span
from ledger.rules import BeneficiarySecret as Secret
from ledger.rules import apply, repeats, resolve
from ledger.tree_store import read_nodes


@dataclass(frozen=True)
class AppendedEntry:
    seq: int
    kind: str
    request_id: str
    body: str
    leaf_hash: bytes
    data: dict[str, Any]
    repeated: bool = False
    """True when the request id had been seen: this is the first entry, nothing new was appended."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Sequencer:
    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock

    def append(self, session: Session, commands: Sequence[Command]) -> list[AppendedEntry]:
        """Append ``commands`` in order; returns one entry per command (first entry for repeats)."""
        if not 1 <= len(commands) <= limits.MAX_COMMANDS_PER_APPEND:
            raise InvalidCommand(f"append 1 to {limits.MAX_COMMANDS_PER_APPEND} commands at a time")
        for command in commands:
            command.validate()
        request_ids = [command.request_id for command in commands]
        if len(set(request_ids)) != len(request_ids):
            raise InvalidCommand("request ids repeat within one append", field="request_id")

        head = self._lock_head(session)
        seen = self._seen(session, commands)
        state = DatabaseState(session)
        state.prefetch(commands)
        tree = merkle.TreeBuilder.from_nodes(
            head.size, read_nodes(session, merkle.frontier_node_ids(head.size))
        )
        prev = head.last_leaf_hash.hex() if head.size else GENESIS_PREV
        time = max(format_time(self._clock()), head.last_time)
        seq = head.size
        results: list[AppendedEntry] = []
        rows: list[dict[str, Any]] = []
        secrets: list[dict[str, Any]] = []
        for command in commands:
            if command.request_id in seen:
                results.append(seen[command.request_id])
                continue
            data, secret = resolve(command, state)
            apply(state, seq, command.kind, data)
            body = make_body(
                seq=seq, prev=prev, time=time, kind=command.kind, request_id=command.request_id, data=data
            )
            leaf = merkle.leaf_hash(body)
            completed = tree.append(leaf)
            text = body.decode("utf-8")
            rows.append(
                {
                    "seq": seq,
                    "request_id": command.request_id,
                    "kind": command.kind,
                    "body": text,
                    "leaf_hash": leaf,
                    "subtree_hashes": b"".join(completed),
                }
            )
            if secret is not None:
                secrets.append(_secret_row(seq, secret))
            results.append(AppendedEntry(seq, command.kind, command.request_id, text, leaf, data))
            prev = leaf.hex()
            seq += 1
        if rows:
            session.execute(insert(Entry), rows)
            state.flush()
            if secrets:
                session.execute(insert(BeneficiarySecret), secrets)
            session.execute(
                update(Head)
                .where(Head.id == 1)
                .values(size=seq, last_leaf_hash=rows[-1]["leaf_hash"], last_time=time)
            )
        return results

    @staticmethod
    def _lock_head(session: Session) -> Head:
        head = session.execute(select(Head).where(Head.id == 1).with_for_update()).scalar_one_or_none()
        if head is None:
            raise RuntimeError("the ledger head row is missing: run the migrations (tanhui db upgrade)")
        return head

    @staticmethod
    def _seen(session: Session, commands: Sequence[Command]) -> dict[str, AppendedEntry]:
        by_id = {command.request_id: command for command in commands}
        rows = session.execute(
            select(
                Entry.seq, Entry.request_id, Entry.kind, Entry.body, Entry.leaf_hash, BeneficiarySecret.salt
            )
            .outerjoin(BeneficiarySecret, BeneficiarySecret.seq == Entry.seq)
            .where(Entry.request_id.in_(list(by_id)))
        ).all()
        seen = {}
        for seq, request_id, kind, body, leaf, salt in rows:
            data = parse_body(body.encode("utf-8")).data
            command = by_id[request_id]
            if not repeats(command, kind, data, salt):
                raise IdempotencyConflict(
                    f"request id {request_id} was already used for a different {kind} (entry {seq})",
                    field="request_id",
                )
            seen[request_id] = AppendedEntry(seq, kind, request_id, body, bytes(leaf), data, repeated=True)
        return seen


def _secret_row(seq: int, secret: Secret) -> dict[str, Any]:
    return {"seq": seq, "name": secret.name, "salt": secret.salt}


class DatabaseState:
    """Holdings read from the database on first use, changed in memory, written back by :meth:`flush`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._accounts: dict[str, bool] = {}
        self._batches: dict[str, int | None] = {}
        self._held: dict[tuple[str, str], list[Span]] = {}
        self._loaded_nonempty: set[tuple[str, str]] = set()
        self._dirty: set[tuple[str, str]] = set()
        self._account_batches: dict[str, set[str]] = {}
        self._new_batches: list[dict[str, Any]] = []
        self._closed: list[dict[str, Any]] = []
        self._new_batch_ids: set[str] = set()

    def prefetch(self, commands: Sequence[Command]) -> None:
        """Load in a few queries what the commands will ask about, instead of a query per question."""
        accounts: set[str] = set()
        batches: set[str] = set()
        keys: set[tuple[str, str]] = set()
        for command in commands:
            intent = command.intent()
            for name in ("account", "from", "to"):
                if name in intent:
                    accounts.add(intent[name])
            if command.kind == "issue":
                batches.add(intent["batch"])
                accounts.update(account for account, _ in intent["allocations"])
                continue
            selection = command.selection  # type: ignore[union-attr]
            holder: str = intent["account"] if "account" in intent else intent["from"]
            for item in selection.ranges:
                batches.add(item.batch_id)
                keys.add((holder, item.batch_id))
            for batch in selection.batches:
                batches.add(batch)
                keys.add((holder, batch))
        if accounts:
            found = set(self.session.scalars(select(Account.id).where(Account.id.in_(accounts))))
            self._accounts.update({account: account in found for account in accounts})
        if batches:
            quantities = self.session.execute(
                select(Batch.id, Batch.quantity_kg).where(Batch.id.in_(batches))
            )
            self._batches.update(dict.fromkeys(batches))
            self._batches.update({row.id: row.quantity_kg for row in quantities})
        keys = {key for key in keys if key not in self._held}
        if keys:
            for key in keys:
                self._held[key] = []
            held = self.session.execute(
                select(Holding.account_id, Holding.batch_id, Holding.start_kg, Holding.end_kg)
                .where(tuple_(Holding.account_id, Holding.batch_id).in_(list(keys)))
                .order_by(Holding.account_id, Holding.batch_id, Holding.start_kg)
            )
            for account, batch, start, end in held:
                self._held[(account, batch)].append((start, end))
                self._loaded_nonempty.add((account, batch))

    def account_exists(self, account: str) -> bool:
        if account not in self._accounts:
            self._accounts[account] = self.session.get(Account, account) is not None
        return self._accounts[account]

    def batch_quantity(self, batch: str) -> int | None:
        if batch not in self._batches:
            self._batches[batch] = self.session.scalar(select(Batch.quantity_kg).where(Batch.id == batch))
        return self._batches[batch]

    def held(self, account: str, batch: str) -> list[Span]:
        key = (account, batch)
        if key not in self._held and batch in self._new_batch_ids:
            self._held[key] = []
        elif key not in self._held:
            spans = [
                (start, end)
                for start, end in self.session.execute(
                    select(Holding.start_kg, Holding.end_kg)
                    .where(Holding.account_id == account, Holding.batch_id == batch)
                    .order_by(Holding.start_kg)
                ).all()
            ]
            self._held[key] = spans
            if spans:
                self._loaded_nonempty.add(key)
        return self._held[key]

    def set_held(self, account: str, batch: str, spans: list[Span]) -> None:
        self.held(account, batch)
        self._held[(account, batch)] = spans
        self._dirty.add((account, batch))
        if account in self._account_batches:
            if spans:
                self._account_batches[account].add(batch)
            else:
                self._account_batches[account].discard(batch)

    def batches_held_by(self, account: str) -> list[str]:
        if account not in self._account_batches:
            stored = set(
                self.session.scalars(select(Holding.batch_id).where(Holding.account_id == account).distinct())
            )
            for (holder, batch), spans in self._held.items():
                if holder == account and (holder, batch) in self._dirty:
                    (stored.add if spans else stored.discard)(batch)
            self._account_batches[account] = stored
        return sorted(self._account_batches[account])

    def add_batch(self, batch: str, quantity_kg: int, seq: int) -> None:
        self._batches[batch] = quantity_kg
        project, vintage, number = batch.split("-")
        self._new_batches.append(
            {
                "id": batch,
                "project": project,
                "vintage": vintage,
                "number": int(number),
                "quantity_kg": quantity_kg,
                "issue_seq": seq,
            }
        )
        self._new_batch_ids.add(batch)

    def close(self, status: str, account: str, batch: str, span: Span, seq: int) -> None:
        self._closed.append(
            {
                "batch_id": batch,
                "start_kg": span[0],
                "end_kg": span[1],
                "account_id": account,
                "status": status,
                "entry_seq": seq,
            }
        )

    def flush(self) -> None:
        if self._new_batches:
            self.session.execute(insert(Batch), self._new_batches)
        stale = [
            {"a": account, "b": batch}
            for account, batch in self._dirty
            if (account, batch) in self._loaded_nonempty
        ]
        if stale:
            table = cast(Table, Holding.__table__)
            self.session.execute(
                delete(table).where(table.c.account_id == bindparam("a"), table.c.batch_id == bindparam("b")),
                stale,
            )
        fresh = [
            {"account_id": account, "batch_id": batch, "start_kg": start, "end_kg": end}
            for account, batch in sorted(self._dirty)
            for start, end in self._held[(account, batch)]
        ]
        if fresh:
            self.session.execute(insert(Holding), fresh)
        if self._closed:
            self.session.execute(insert(ClosedRange), self._closed)
