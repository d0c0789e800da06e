"""ledger.bulk_insert: rows reach the table exactly, in the session's transaction, on SQLite and PostgreSQL;
tables whose values the driver may not take as they are are refused before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import BigInteger, Column, DateTime, LargeBinary, MetaData, String, Table, Text, select
from sqlalchemy.orm import Session
from tests_support import sent_statements

from ledger.bulk_insert import insert_rows
from ledger.database import Database

metadata = MetaData()
PLAIN = Table(
    "bulk_plain",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(40), nullable=False),
    Column("note", Text, nullable=True),
    Column("digest", LargeBinary(32), nullable=False),
)
WITH_TIME = Table(
    "bulk_with_time", metadata, Column("id", BigInteger, primary_key=True), Column("at", DateTime)
)
WITH_DEFAULT = Table(
    "bulk_with_default",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("state", String(10), default="new"),
)


@pytest.fixture(params=["sqlite", "pg"])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    database = Database(url)
    metadata.create_all(database.engine)
    yield database
    database.dispose()


COLUMNS = ("seq", "name", "note", "digest")


def _rows(first: int, count: int) -> list[tuple[object, ...]]:
    return [
        (
            first + i,
            f"账户-{i}",
            None if i % 3 else '备注 "quoted" \\ and \n newline',
            bytes([i % 256]) * 32,
        )
        for i in range(count)
    ]


def test_every_row_and_value_arrives_exactly(database: Database) -> None:
    rows = _rows(0, 1_500)
    with database.unit_of_work() as uow:
        insert_rows(uow.session, PLAIN, COLUMNS, rows)
        uow.commit()
    with database.reading() as session:
        stored = session.execute(select(PLAIN).order_by(PLAIN.c.seq)).all()
    assert [(*row[:3], bytes(row[3])) for row in stored] == rows


def test_some_columns_only(database: Database) -> None:
    with database.unit_of_work() as uow:
        insert_rows(uow.session, PLAIN, ("seq", "name", "digest"), [(7, "名", b"d" * 32)])
        uow.commit()
    with database.reading() as session:
        assert session.execute(select(PLAIN.c.seq, PLAIN.c.name, PLAIN.c.note)).all() == [(7, "名", None)]


def test_columns_out_of_the_tables_order_are_refused(database: Database) -> None:
    with database.unit_of_work() as uow:
        with pytest.raises(ValueError, match="in its own order: seq, name, note, digest"):
            insert_rows(uow.session, PLAIN, ("name", "seq", "note", "digest"), [("x", 1, None, b"d" * 32)])
        assert uow.session.execute(select(PLAIN)).all() == []


def test_the_driver_gets_positional_parameters_on_both_databases(database: Database) -> None:
    """Rows go to the driver as the tuples given: PostgreSQL's statement is compiled with ``%s``."""
    rows = _rows(0, 3)
    with sent_statements(database.engine) as sent, database.unit_of_work() as uow:
        insert_rows(uow.session, PLAIN, COLUMNS, rows)
        uow.commit()
    [(statement, parameters)] = [(sql, params) for sql, params, _ in sent if "bulk_plain" in sql]
    assert parameters == rows
    assert "%(" not in statement
    assert statement.count("?" if database.is_sqlite else "%s") == len(COLUMNS)


def test_the_rows_are_part_of_the_sessions_transaction(database: Database) -> None:
    with database.unit_of_work() as uow:
        insert_rows(uow.session, PLAIN, COLUMNS, _rows(0, 10))
        assert uow.session.scalar(select(PLAIN.c.seq).order_by(PLAIN.c.seq.desc()).limit(1)) == 9
        # leaving without commit rolls back
    with database.reading() as session:
        assert session.execute(select(PLAIN)).all() == []


def test_a_duplicate_key_fails_the_whole_statement(database: Database) -> None:
    with database.unit_of_work() as uow:
        insert_rows(uow.session, PLAIN, COLUMNS, _rows(0, 5))
        uow.commit()
    with database.unit_of_work() as uow, pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        insert_rows(uow.session, PLAIN, COLUMNS, _rows(5, 5) + _rows(4, 1))
    with database.reading() as session:
        assert len(session.execute(select(PLAIN)).all()) == 5


def test_engine_events_see_the_statement(database: Database) -> None:
    with sent_statements(database.engine) as sent, database.unit_of_work() as uow:
        insert_rows(uow.session, PLAIN, COLUMNS, _rows(0, 3))
        insert_rows(uow.session, PLAIN, COLUMNS, [])  # nothing to write: no statement
        uow.commit()
    seen = [statement.sql for statement in sent]
    assert [statement.split("(")[0].strip() for statement in seen if "bulk_plain" in statement] == [
        "INSERT INTO bulk_plain"
    ]


@pytest.mark.parametrize(
    ("table", "columns", "rows", "message"),
    [
        (WITH_TIME, ("id", "at"), [(1, datetime(2026, 1, 1, tzinfo=UTC))], "driver may not take"),
        (WITH_DEFAULT, ("id",), [(1,)], "default"),
        (PLAIN, ("seq", "name", "digest", "nope"), [(1, "x", b"0" * 32, 1)], "no column nope"),
    ],
)
def test_what_the_driver_would_not_take_as_it_is_is_refused_before_writing(
    sqlite_url: str, table: Table, columns: tuple[str, ...], rows: list[tuple[object, ...]], message: str
) -> None:
    database = Database(sqlite_url)
    metadata.create_all(database.engine)
    try:
        with Session(database.engine) as session, pytest.raises((TypeError, KeyError), match=message):
            insert_rows(session, table, columns, rows)
        with database.reading() as session:
            assert session.execute(select(table)).all() == []
    finally:
        database.dispose()
