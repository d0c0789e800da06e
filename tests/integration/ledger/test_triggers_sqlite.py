"""On SQLite the database itself refuses to change history: UPDATE and DELETE triggers on the log tables.

Each statement is tried twice: through the application's own engine (so a bug in our code cannot do it)
and through a plain ``sqlite3`` connection (so it is the database refusing, not our code).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.commands import Allocation, Beneficiary, Cancel, Issue, Retire, Selection, Transfer
from ledger.service import LedgerService

APPEND_ONLY = {
    "ledger_entries": ("seq", "body", "'{}'"),
    "ledger_checkpoints": ("id", "note", "'forged'"),
    "ledger_batches": ("id", "quantity_kg", "quantity_kg + 1"),
    "ledger_closed_ranges": ("batch_id, start_kg", "account_id", "'ENT-B'"),
    "ledger_verifier_keys": ("vkey", "name", "'forged'"),
}
"""table -> (key columns to order by, a column to change, a new value for it)."""


@pytest.fixture
def ledger(service: LedgerService) -> LedgerService:
    service.append([Issue("i-1", "LS01", "2023", 1, (Allocation("OWN-A", 900), Allocation("BUFFER", 100)))])
    service.append([Transfer("t-1", "OWN-A", "ENT-A", Selection(quantity_kg=300))])
    service.append([Retire("r-1", "ENT-A", Selection(quantity_kg=20), Beneficiary("李明", False), "gift")])
    service.append([Cancel("c-1", "BUFFER", Selection(quantity_kg=5), "更正")])
    service.sign_checkpoint()
    return service


def db_path(service: LedgerService) -> Path:
    return Path(service.database.url.removeprefix("sqlite:///"))


def rows(service: LedgerService, table: str) -> list[tuple[object, ...]]:
    order = APPEND_ONLY[table][0]
    with service.database.reading() as session:
        return [tuple(row) for row in session.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]


def statements(table: str) -> list[tuple[str, str]]:
    _, column, value = APPEND_ONLY[table]
    return [
        ("UPDATE", f"UPDATE {table} SET {column} = {value}"),
        ("UPDATE", f"UPDATE {table} SET {column} = {column}"),  # even a no-op update
        ("UPDATE", f"UPDATE {table} SET {column} = {value} WHERE rowid = (SELECT max(rowid) FROM {table})"),
        ("DELETE", f"DELETE FROM {table}"),
        ("DELETE", f"DELETE FROM {table} WHERE rowid = (SELECT max(rowid) FROM {table})"),
    ]


@pytest.mark.parametrize("table", list(APPEND_ONLY))
def test_the_application_engine_cannot_update_or_delete_history(ledger: LedgerService, table: str):
    before = rows(ledger, table)
    assert before, f"{table} should have rows to protect"
    for operation, statement in statements(table):
        with pytest.raises(DBAPIError) as refused, ledger.database.engine.begin() as connection:
            connection.execute(text(statement))
        assert f"{table} is append-only: {operation} refused" in str(refused.value), statement
        assert rows(ledger, table) == before, statement


@pytest.mark.parametrize("table", list(APPEND_ONLY))
def test_a_plain_sqlite_connection_cannot_update_or_delete_history(ledger: LedgerService, table: str):
    before = rows(ledger, table)
    connection = sqlite3.connect(db_path(ledger))
    try:
        for operation, statement in statements(table):
            with pytest.raises(sqlite3.DatabaseError) as refused:
                connection.execute(statement)
            assert str(refused.value) == f"{table} is append-only: {operation} refused", statement
            connection.commit()
    finally:
        connection.close()
    assert rows(ledger, table) == before


def test_the_ledger_still_appends_and_verifies_after_refused_changes(ledger: LedgerService):
    for table in APPEND_ONLY:
        with pytest.raises(DBAPIError), ledger.database.engine.begin() as connection:
            connection.execute(text(f"DELETE FROM {table}"))
    [entry] = ledger.append([Transfer("t-2", "ENT-A", "ENT-B", Selection(quantity_kg=10))])
    assert entry.seq == 4
    ledger.sign_checkpoint()
    assert ledger.verify().size == 5


def test_live_holdings_are_not_append_only(ledger: LedgerService):
    # Holdings are derived state that every transfer rewrites; it is verify that guards them.
    with ledger.database.engine.begin() as connection:
        changed = connection.execute(
            text("UPDATE ledger_holdings SET account_id = account_id WHERE account_id = 'OWN-A'")
        ).rowcount
    assert changed == 1


def test_insert_or_replace_cannot_rewrite_an_entry(ledger: LedgerService):
    before = rows(ledger, "ledger_entries")
    replace = text(
        "INSERT OR REPLACE INTO ledger_entries (seq, request_id, kind, body, leaf_hash, subtree_hashes) "
        "SELECT seq, request_id, kind, body || ' ', leaf_hash, subtree_hashes "
        "FROM ledger_entries WHERE seq = 1"
    )
    with pytest.raises(DBAPIError, match="append-only"), ledger.database.engine.begin() as connection:
        connection.execute(replace)
    assert rows(ledger, "ledger_entries") == before


def test_a_commit_on_sqlite_is_durable_before_it_returns(service: LedgerService):
    """WAL with synchronous=FULL: a power loss cannot undo an entry a checkpoint or certificate covers."""
    with service.database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
