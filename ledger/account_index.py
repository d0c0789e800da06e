"""Which entries name which account, kept behind the log for account statements.

The sequencer does not write this index, so that an append writes no more than the log and the holdings
need. :func:`index_new_entries` reads the entries after the last one indexed, in ``seq`` order, and records
every account each one names: an issue's allocation accounts, a transfer's ``from`` and ``to``, the
``account`` of a retirement or cancellation. Every entry names at least one account and a run commits
whole, so the index always ends at its largest seq; :func:`entries_naming` reads the index up to there and
scans only the entries after it, so an answer is complete however far behind the indexer is. Rows that
exist are skipped, so two indexers racing, or a run repeated after a crash, do no harm.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Insert, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ledger.entries import parse_body
from ledger.models import AccountEntry, Entry
from ledger.orm import core_table

CHUNK_ENTRIES = 2_000
DEFAULT_LIMIT = 100_000


def accounts_named(kind: str, data: Mapping[str, Any]) -> set[str]:
    """The accounts an entry's data names."""
    if kind == "issue":
        return {allocation["account"] for allocation in data["allocations"]}
    if kind == "transfer":
        return {data["from"], data["to"]}
    return {data["account"]}


def indexed_end(session: Session) -> int:
    """The number of entries indexed: every entry below this seq is in the index."""
    last = session.scalar(select(func.max(AccountEntry.seq)))
    return 0 if last is None else int(last) + 1


def index_new_entries(session: Session, limit: int = DEFAULT_LIMIT) -> int:
    """Index up to ``limit`` entries after the last one indexed; returns how many. The caller commits."""
    assert limit >= 1, limit
    start = indexed_end(session)
    done = 0
    while done < limit:
        rows = session.execute(
            select(Entry.seq, Entry.kind, Entry.body)
            .where(Entry.seq >= start + done)
            .order_by(Entry.seq)
            .limit(min(CHUNK_ENTRIES, limit - done))
        ).all()
        if not rows:
            break
        values = [
            {"account_id": account, "seq": seq}
            for seq, kind, body in rows
            for account in sorted(accounts_named(kind, parse_body(body.encode("utf-8")).data))
        ]
        session.execute(_insert_skipping_existing(session), values)
        done += len(rows)
    return done


def entries_naming(session: Session, account: str) -> Iterator[tuple[int, str]]:
    """``(seq, body)`` of every entry that names ``account``, in ``seq`` order.

    The index answers up to its end; after it, the stored bodies are narrowed by the substrings an
    account id can only appear in (canonical JSON has no whitespace) and each candidate is parsed and
    checked exactly.
    """
    end = indexed_end(session)
    for seq, body in session.execute(
        select(Entry.seq, Entry.body)
        .join(AccountEntry, AccountEntry.seq == Entry.seq)
        .where(AccountEntry.account_id == account)
        .order_by(Entry.seq)
    ):
        yield seq, body
    mentions = or_(*(Entry.body.contains(f'"{key}":"{account}"') for key in ("from", "to", "account")))
    for seq, kind, body in session.execute(
        select(Entry.seq, Entry.kind, Entry.body).where(Entry.seq >= end, mentions).order_by(Entry.seq)
    ):
        if account in accounts_named(kind, parse_body(body.encode("utf-8")).data):
            yield seq, body


def _insert_skipping_existing(session: Session) -> Insert:
    table = core_table(AccountEntry)
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
