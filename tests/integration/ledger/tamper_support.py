"""Changing a stored ledger behind the database's back, as an operator with file access could."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger import merkle
from ledger.service import LedgerService
from ledger.verify import VerificationFailure


def copy_database(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite ledger file, for one case to tamper with."""
    reader, writer = sqlite3.connect(source), sqlite3.connect(target)
    try:
        reader.backup(writer)
    finally:
        reader.close()
        writer.close()
    return target


def tamper(path: Path, statement: str, parameters: tuple[object, ...] = (), *, again: bool = False) -> None:
    """Drop every trigger, then run ``statement`` (which must change exactly one row).

    ``again``: a second change to the same copy, whose triggers an earlier call dropped.
    """
    connection = sqlite3.connect(path)
    try:
        triggers = [
            name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        ]
        assert triggers or again, "the migration should have created append-only triggers"
        for name in triggers:
            connection.execute(f'DROP TRIGGER "{name}"')
        changed = connection.execute(statement, parameters).rowcount
        assert changed == 1, (statement, parameters, changed)
        connection.commit()
    finally:
        connection.close()


def rewrite_entry(path: Path, seq: int, body: bytes) -> None:
    """Entry ``seq`` given ``body`` with its leaf hash recomputed, as a careful forger would (triggers
    dropped as :func:`tamper` drops them)."""
    tamper(
        path,
        "UPDATE ledger_entries SET body = ?, leaf_hash = ? WHERE seq = ?",
        (body.decode("utf-8"), merkle.leaf_hash(body), seq),
    )


def query(path: Path, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def one_byte_changed(raw: bytes, offset: int) -> bytes:
    """``raw`` with the byte at ``offset`` replaced by another, keeping the text valid UTF-8."""
    for flip in (0x01, 0x02, 0x04, 0x08, 0x10, 0x20):
        changed = raw[:offset] + bytes([raw[offset] ^ flip]) + raw[offset + 1 :]
        try:
            changed.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return changed
    raise AssertionError(f"no one-byte change at {offset} keeps the body UTF-8")


def failure_of(service: LedgerService, jobs: int = 1) -> VerificationFailure:
    """The failure that verifying with ``service`` raises (it must raise one); the service is closed."""
    try:
        with pytest.raises(VerificationFailure) as failure:
            service.verify(jobs=jobs)
    finally:
        service.database.dispose()
    return failure.value
