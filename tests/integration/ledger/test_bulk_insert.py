"""ledger.bulk_insert: rows reach the table exactly, in the session's transaction, on SQLite and PostgreSQL;
tables whose values the driver may not take as they are are refused before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import BigInteger, Column, DateTime, LargeBinary, MetaData, String, Table, Text, event, select
from sqlalchemy.orm import Session

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


def _rows(first: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "seq": first + i,
            "name": f"账户-{i}",
            "note": None if i % 3 else '备注 "quoted" \\ and \n newline',
            "digest": bytes([i % 256]) * 32,
        }
        for i in range(count)
    ]


def test_every_row_and_value_arrives_exactly(database: Database) -> None:
    rows = _rows(0, 1_500)
    with database.unit_of_work() as uow:
        insert_rows(uow.session, PLAIN, rows)
        uow.commit()
    with database.reading() as session:
        stored = [dict(row._mapping) for row in session.execute(select(PLAIN).order_by(PLAIN.c.seq))]
    assert [{**row, "digest": bytes(row["digest"])} for row in stored] == rows


def test_the_rows_are_part_of_the_sessions_transaction(database: Database) -> None:
    with database.unit_of_work() as uow:
        insert_rows(uow.session, PLAIN, _rows(0, 10))
        assert uow.session.scalar(select(PLAIN.c.seq).order_by(PLAIN.c.seq.desc()).limit(1)) == 9
        # leaving without commit rolls back
    with database.reading() as session:
        assert session.execute(select(PLAIN)).all() == []


def test_a_duplicate_key_fails_the_whole_statement(database: Database) -> None:
    with database.unit_of_work() as uow:
        insert_rows(uow.session, PLAIN, _rows(0, 5))
        uow.commit()
    with database.unit_of_work() as uow, pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        insert_rows(uow.session, PLAIN, _rows(5, 5) + _rows(4, 1))
    with database.reading() as session:
        assert len(session.execute(select(PLAIN)).all()) == 5


def test_engine_events_see_the_statement(database: Database) -> None:
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", listener)
    with database.unit_of_work() as uow:
        insert_rows(uow.session, PLAIN, _rows(0, 3))
        insert_rows(uow.session, PLAIN, [])  # nothing to write: no statement
        uow.commit()
    event.remove(database.engine, "before_cursor_execute", listener)
    assert [statement.split("(")[0].strip() for statement in seen if "bulk_plain" in statement] == [
        "INSERT INTO bulk_plain"
    ]


@pytest.mark.parametrize(
    ("table", "rows", "message"),
    [
        (WITH_TIME, [{"id": 1, "at": datetime(2026, 1, 1, tzinfo=UTC)}], "driver may not take"),
        (WITH_DEFAULT, [{"id": 1}], "default"),
        (PLAIN, [{"seq": 1, "name": "x", "digest": b"0" * 32, "nope": 1}], "no column nope"),
    ],
)
def test_what_the_driver_would_not_take_as_it_is_is_refused_before_writing(
    sqlite_url: str, table: Table, rows: list[dict[str, object]], message: str
) -> None:
    database = Database(sqlite_url)
    metadata.create_all(database.engine)
    try:
        with Session(database.engine) as session, pytest.raises((TypeError, KeyError), match=message):
            insert_rows(session, table, rows)
        with database.reading() as session:
            assert session.execute(select(table)).all() == []
    finally:
        database.dispose()
