"""An SQLite without its JSON functions is refused on connecting, with the reason, not at the first append."""

from __future__ import annotations

import sqlite3

import pytest

from ledger.database import require_json_functions


def test_this_machines_sqlite_has_them() -> None:
    connection = sqlite3.connect(":memory:")
    try:
        require_json_functions(connection.cursor())  # raises if not
    finally:
        connection.close()


class _NoJsonCursor:
    """A cursor of an SQLite built without JSON1: json_each is an unknown table there."""

    def execute(self, sql: str) -> None:
        raise sqlite3.OperationalError("no such table: json_each")


def test_an_sqlite_without_them_is_refused_with_the_reason() -> None:
    with pytest.raises(RuntimeError, match=r"no JSON functions \(json_each\).*3\.38"):
        require_json_functions(_NoJsonCursor())
