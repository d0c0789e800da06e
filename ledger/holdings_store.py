"""Holdings as the sequencer sees them inside one append transaction: read lazily, changed in memory.

The rules (:mod:`ledger.rules`) ask questions one command at a time; answering each with its own query
would cost a round trip per entry. This store answers from memory and reads the database in as few
queries as it can: everything the commands name is prefetched in bulk; an account's holdings are read
whole the first time a quantity must be chosen from them; and kilograms credited to an account whose
holdings were never read are merged with its stored ranges in one query at :meth:`DatabaseState.flush`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from ledger.bulk_insert import insert_rows
from ledger.commands import Command, Issue, Transfer
from ledger.driver_sql import DriverStatement, key_in, pair_in
from ledger.models import Account, Batch, ClosedRange, Holding
from ledger.orm import core_table
from ledger.ranges import Span, merge_spans
from ledger.rules import HoldingsState

Key = tuple[str, str]
"""``(account, batch)``."""

KEYS_PER_QUERY: Final = 500

# The columns of the rows written, in each table's own order (see ledger.bulk_insert).
BATCH_COLUMNS: Final = ("id", "project", "vintage", "number", "quantity_kg", "issue_seq")
HOLDING_COLUMNS: Final = ("batch_id", "start_kg", "end_kg", "account_id")
CLOSED_COLUMNS: Final = ("batch_id", "start_kg", "end_kg", "account_id", "status", "entry_seq")


class KnownAccounts:
    """Account ids the database has been seen to hold, kept across appends by one sequencer.

    Accounts are opened and never removed (holdings, closed ranges and entries refer to them by foreign
    key), so an account once found exists for good and need not be looked up again: most appends then
    ask the database only about accounts they are the first to name. Once ``limit`` ids are kept, no more
    are taken (the ids of the append that reaches it are still added): a bound on memory, not a count.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self._ids: set[str] = set()
        self._limit = limit

    def exists(self, account: str) -> bool:
        return account in self._ids

    def add(self, accounts: Iterable[str]) -> None:
        if len(self._ids) < self._limit:
            self._ids.update(accounts)


class DatabaseState(HoldingsState):
    """A :class:`ledger.rules.HoldingsState` over the database, written back by :meth:`flush`."""

    def __init__(self, session: Session, known_accounts: KnownAccounts | None = None) -> None:
        self.session = session
        self._known = known_accounts if known_accounts is not None else KnownAccounts()
        self._accounts: dict[str, bool] = {}
        self._batches: dict[str, int | None] = {}
        self._new_batch_ids: set[str] = set()
        self._held: dict[Key, list[Span]] = {}
        self._stored_nonempty: set[Key] = set()
        self._pending: dict[Key, list[Span]] = {}
        self._dirty: set[Key] = set()
        self._account_batches: dict[str, set[str]] = {}
        self._batches_in_memory: dict[str, set[str]] = {}
        self._new_batches: list[tuple[str, str, str, int, int, int]] = []  # BATCH_COLUMNS
        self._closed: list[tuple[str, int, int, str, str, int]] = []  # CLOSED_COLUMNS

    # --- reading ------------------------------------------------------------------------------------

    def prefetch(self, commands: Sequence[Command]) -> None:
        """Read in bulk the accounts, batches and holdings that the commands name."""
        accounts: set[str] = set()
        batches: set[str] = set()
        keys: set[Key] = set()
        choosers: set[str] = set()
        for command in commands:
            if isinstance(command, Issue):
                batches.add(command.batch_id)
                accounts.update(allocation.account for allocation in command.allocations)
                continue
            if isinstance(command, Transfer):
                holder = command.from_account
                accounts.add(command.to_account)
            else:
                holder = command.account
            accounts.add(holder)
            selection = command.selection
            named = [item.batch_id for item in selection.ranges] + list(selection.batches)
            batches.update(named)
            keys.update((holder, batch) for batch in named)
            if selection.quantity_kg is not None and not selection.batches:
                choosers.add(holder)
        unknown = {account for account in accounts if not self._known.exists(account)}
        found = (
            {account for (account,) in _ACCOUNTS.rows(self.session, keys={"ids": sorted(unknown)})}
            if unknown
            else set()
        )
        self._known.add(found)
        self._accounts.update({account: account not in unknown or account in found for account in accounts})
        self._load_keys(keys)
        self._load_accounts(choosers)
        # The batches named, and those the choosers hold (their quantities bound every range checked).
        batches.update(batch for _account, batch in self._held)
        self._load_batches(batches)

    def _load_batches(self, batches: set[str]) -> None:
        todo = sorted(batch for batch in batches if batch not in self._batches)
        if todo:
            self._batches.update(dict.fromkeys(todo))
            self._batches.update(dict(_BATCHES.rows(self.session, keys={"ids": todo})))

    def _load_keys(self, keys: Iterable[Key]) -> None:
        """Read the stored ranges of every key not yet in memory (none exist for a batch issued here)."""
        wanted = {key for key in keys if key not in self._held}
        stored = sorted(key for key in wanted if key[1] not in self._new_batch_ids)
        for key in wanted:
            self._held[key] = []
            self._keys_of(key[0]).add(key[1])
        for start in range(0, len(stored), KEYS_PER_QUERY):
            chunk = stored[start : start + KEYS_PER_QUERY]
            for account, batch, span_start, span_end in _HOLDINGS_AT.rows(
                self.session, pairs={"keys": chunk}
            ):
                self._held[(account, batch)].append((span_start, span_end))
                self._stored_nonempty.add((account, batch))
        for key in wanted:
            self._merge_pending(key)

    def _merge_pending(self, key: Key) -> None:
        pending = self._pending.pop(key, None)
        if pending:
            self._held[key] = merge_spans([*self._held.get(key, []), *pending])
            self._dirty.add(key)

    def account_exists(self, account: str) -> bool:
        if account not in self._accounts:
            exists = self._known.exists(account) or self.session.get(Account, account) is not None
            self._accounts[account] = exists
            if exists:
                self._known.add((account,))
        return self._accounts[account]

    def batch_quantity(self, batch: str) -> int | None:
        if batch not in self._batches:
            self._batches[batch] = self.session.scalar(select(Batch.quantity_kg).where(Batch.id == batch))
        return self._batches[batch]

    def held(self, account: str, batch: str) -> list[Span]:
        key = (account, batch)
        if key not in self._held:
            if account in self._account_batches:
                # Every stored holding of this account is in memory already: none exists for this batch.
                self._held[key] = []
                self._keys_of(account).add(batch)
                self._merge_pending(key)
            else:
                self._load_keys([key])
        return self._held[key]

    def batches_held_by(self, account: str) -> list[str]:
        """The batches the account holds, reading all its stored holdings once."""
        if account not in self._account_batches:
            self._load_accounts([account])
        return sorted(self._account_batches[account])

    def _load_accounts(self, accounts: Iterable[str]) -> None:
        """Read every stored holding of the accounts, a few hundred accounts per query."""
        todo = sorted({account for account in accounts if account not in self._account_batches})
        for start in range(0, len(todo), KEYS_PER_QUERY):
            chunk = todo[start : start + KEYS_PER_QUERY]
            stored: dict[Key, list[Span]] = {}
            for account, batch, span_start, span_end in _HOLDINGS_OF.rows(self.session, keys={"ids": chunk}):
                stored.setdefault((account, batch), []).append((span_start, span_end))
            for key, spans in stored.items():
                self._stored_nonempty.add(key)
                if key not in self._held:
                    self._held[key] = spans
                    self._keys_of(key[0]).add(key[1])
            wanted = set(chunk)
            for key in [key for key in self._pending if key[0] in wanted]:
                self._held.setdefault(key, [])
                self._keys_of(key[0]).add(key[1])
                self._merge_pending(key)
            for account in chunk:
                self._account_batches[account] = {
                    batch for batch in self._keys_of(account) if self._held.get((account, batch))
                }

    def _keys_of(self, account: str) -> set[str]:
        """The batches of ``account`` whose holdings are in memory (an index over ``_held``)."""
        return self._batches_in_memory.setdefault(account, set())

    # --- changing -----------------------------------------------------------------------------------

    def set_held(self, account: str, batch: str, spans: list[Span]) -> None:
        key = (account, batch)
        self.held(account, batch)
        self._held[key] = spans
        self._dirty.add(key)
        if account in self._account_batches:
            (self._account_batches[account].add if spans else self._account_batches[account].discard)(batch)

    def credit(self, account: str, batch: str, span: Span) -> None:
        """Add kilograms to an account; if its holdings were never read, merge them at flush."""
        key = (account, batch)
        if key not in self._held and account in self._account_batches:
            self.held(account, batch)
        if key in self._held:
            self._held[key] = merge_spans([*self._held[key], span])
            self._dirty.add(key)
        else:
            self._pending.setdefault(key, []).append(span)
        if account in self._account_batches:
            self._account_batches[account].add(batch)

    def add_batch(self, batch: str, quantity_kg: int, seq: int) -> None:
        self._batches[batch] = quantity_kg
        self._new_batch_ids.add(batch)
        project, vintage, number = batch.split("-")
        self._new_batches.append((batch, project, vintage, int(number), quantity_kg, seq))

    def close(self, status: str, account: str, batch: str, span: Span, seq: int) -> None:
        self._closed.append((batch, span[0], span[1], account, status, seq))

    def flush(self) -> None:
        """Write the changes: new batches, rewritten holdings of every changed key, closed ranges."""
        self._load_keys(list(self._pending))
        insert_rows(self.session, core_table(Batch), BATCH_COLUMNS, self._new_batches)
        stale = [
            {"a": account, "b": batch}
            for account, batch in self._dirty
            if (account, batch) in self._stored_nonempty
        ]
        _DROP_HOLDINGS.execute(self.session, stale)
        fresh = [
            (batch, start, end, account)
            for account, batch in sorted(self._dirty)
            for start, end in self._held[(account, batch)]
        ]
        insert_rows(self.session, core_table(Holding), HOLDING_COLUMNS, fresh)
        insert_rows(self.session, core_table(ClosedRange), CLOSED_COLUMNS, self._closed)


def _accounts_statement(dialect: Dialect) -> Any:
    table = core_table(Account)
    return select(table.c.id).where(key_in(dialect, table.c.id, "ids"))


def _batches_statement(dialect: Dialect) -> Any:
    table = core_table(Batch)
    return select(table.c.id, table.c.quantity_kg).where(key_in(dialect, table.c.id, "ids"))


def _holdings_of_statement(dialect: Dialect) -> Any:
    """Every stored holding of the given accounts, in key order."""
    table = core_table(Holding)
    return (
        select(table.c.account_id, table.c.batch_id, table.c.start_kg, table.c.end_kg)
        .where(key_in(dialect, table.c.account_id, "ids"))
        .order_by(table.c.account_id, table.c.batch_id, table.c.start_kg)
    )


def _holdings_at_statement(dialect: Dialect) -> Any:
    """The stored holdings of the given ``(account, batch)`` keys, in key order."""
    table = core_table(Holding)
    return (
        select(table.c.account_id, table.c.batch_id, table.c.start_kg, table.c.end_kg)
        .where(pair_in(dialect, table.c.account_id, table.c.batch_id, "keys"))
        .order_by(table.c.account_id, table.c.batch_id, table.c.start_kg)
    )


def _drop_holdings_statement(_dialect: Dialect) -> Any:
    table = core_table(Holding)
    return delete(table).where(table.c.account_id == bindparam("a"), table.c.batch_id == bindparam("b"))


# The statements every append runs, compiled once per dialect and sent as the driver's SQL.
_ACCOUNTS: Final = DriverStatement(_accounts_statement)
_BATCHES: Final = DriverStatement(_batches_statement)
_HOLDINGS_OF: Final = DriverStatement(_holdings_of_statement)
_HOLDINGS_AT: Final = DriverStatement(_holdings_at_statement)
_DROP_HOLDINGS: Final = DriverStatement(_drop_holdings_statement)
