"""ledger.driver_sql: statements compiled once, sent as the driver's SQL, on SQLite and PostgreSQL.

Lists of keys of any length are one parameter and find exactly their rows; rows come back as plain
tuples with their values unchanged; writes run in the session's transaction; statements whose values
SQLAlchemy would have to convert, or whose IN lists it would render per execution, are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    select,
)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Dialect
from tests_support import sent_statements

from ledger.bulk_insert import insert_rows
from ledger.database import Database
from ledger.driver_sql import DriverStatement, key_in, pair_in, prepare

metadata = MetaData()
ITEMS = Table(
    "driver_items",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(40), nullable=False, unique=True),
    Column("digest", LargeBinary(32), nullable=False),
)
TIMED = Table("driver_timed", metadata, Column("id", BigInteger, primary_key=True), Column("at", DateTime))
PAIRED = Table(
    "driver_paired",
    metadata,
    Column("owner", String(40), primary_key=True),
    Column("lot", String(40), primary_key=True),
    Column("n", BigInteger, nullable=False),
)

NAMES = ["账户-甲", 'quote " and \\ backslash', "plain", "x" * 40, "emoji-🌲"]


def _row(seq: int) -> tuple[int, str, bytes]:
    name = NAMES[seq] if seq < len(NAMES) else f"name-{seq}"
    return (seq, name, bytes([seq % 256]) * 32)


PAIRS = [(owner, lot) for owner in (*NAMES, *(f"owner-{i}" for i in range(100))) for lot in ("甲", "b", "c")]
"""Every owner holds every lot: pairs whose halves both exist elsewhere but not together need other keys."""


@pytest.fixture(params=["sqlite", "pg"])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    database = Database(url)
    metadata.create_all(database.engine)
    with database.unit_of_work() as uow:
        insert_rows(uow.session, ITEMS, ("seq", "name", "digest"), [_row(seq) for seq in range(12_000)])
        insert_rows(uow.session, PAIRED, ("owner", "lot", "n"), [(*pair, n) for n, pair in enumerate(PAIRS)])
        uow.commit()
    yield database
    database.dispose()


def _by_seq(dialect: Dialect) -> Any:
    return select(ITEMS.c.seq, ITEMS.c.name, ITEMS.c.digest).where(key_in(dialect, ITEMS.c.seq, "seqs"))


def _by_name(dialect: Dialect) -> Any:
    return select(ITEMS.c.seq).where(key_in(dialect, ITEMS.c.name, "names"))


BY_SEQ = DriverStatement(_by_seq)
BY_NAME = DriverStatement(_by_name)
BY_PAIR = DriverStatement(
    lambda dialect: select(PAIRED.c.owner, PAIRED.c.lot, PAIRED.c.n).where(
        pair_in(dialect, PAIRED.c.owner, PAIRED.c.lot, "keys")
    )
)


def test_pairs_find_exactly_their_rows(database: Database) -> None:
    wanted = [
        (NAMES[0], "甲"),
        (NAMES[1], "c"),
        (NAMES[1], "c"),  # a repeat
        ("owner-7", "b"),
        ("owner-7", "zz"),  # an owner and a lot that exist, not as a pair
        ("zz", "b"),
        ('quote " and \\ backslash', "甲"),
        ("emoji-🌲", "甲"),
    ]
    with database.reading() as session:
        rows = BY_PAIR.rows(session, pairs={"keys": wanted})
    expected = {pair for pair in wanted if pair in PAIRS}
    assert sorted(rows) == sorted((*pair, PAIRS.index(pair)) for pair in expected)
    assert all(type(row) is tuple for row in rows)


def test_ten_thousand_pairs_are_one_statement_whatever_their_number(database: Database) -> None:
    many = [(f"owner-{i % 100}", "b") for i in range(10_000)]
    with sent_statements(database.engine) as sent, database.reading() as session:
        few = BY_PAIR.rows(session, pairs={"keys": PAIRS[:2]})
        found = BY_PAIR.rows(session, pairs={"keys": many})
    statements = [statement.sql for statement in sent]
    assert sorted(few) == sorted((*pair, n) for n, pair in enumerate(PAIRS[:2]))
    assert sorted(found) == sorted((f"owner-{i}", "b", PAIRS.index((f"owner-{i}", "b"))) for i in range(100))
    selects = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2
    assert selects[0] == selects[1]


def test_keys_find_exactly_their_rows_as_plain_tuples(database: Database) -> None:
    wanted = [0, 3, 4, 11_999, 5_000, 3, 20_000]  # a repeat, and a key with no row
    with database.reading() as session:
        rows = BY_SEQ.rows(session, keys={"seqs": wanted})
    assert sorted(rows) == [_row(seq) for seq in (0, 3, 4, 5_000, 11_999)]
    assert all(type(row) is tuple for row in rows)
    assert all(type(digest) is bytes for _, _, digest in rows)


def test_text_keys_are_matched_exactly_whatever_they_hold(database: Database) -> None:
    with database.reading() as session:
        rows = BY_NAME.rows(session, keys={"names": [*NAMES, "PLAIN", "账户"]})
    assert sorted(seq for (seq,) in rows) == list(range(len(NAMES)))


def test_ten_thousand_keys_are_one_parameter_of_one_statement(database: Database) -> None:
    with sent_statements(database.engine) as sent, database.reading() as session:
        few = BY_SEQ.rows(session, keys={"seqs": [1, 2]})
        many = BY_SEQ.rows(session, keys={"seqs": list(range(10_000))})
    assert len(few) == 2
    assert sorted(seq for seq, _, _ in many) == list(range(10_000))
    selects = [(sql, params) for sql, params, _ in sent if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2
    assert selects[0][0] == selects[1][0]  # the same text whatever the number of keys
    assert all(len(params) == 1 for _, params in selects)


def test_writes_run_in_the_session_transaction(database: Database) -> None:
    def drop(_dialect: Dialect) -> Any:
        return delete(ITEMS).where(ITEMS.c.seq == bindparam("seq"))

    dropping = DriverStatement(drop)
    with database.unit_of_work() as uow:
        dropping.execute(uow.session, [{"seq": 1}, {"seq": 2}])
        dropping.execute(uow.session, [{"seq": 3}])
        dropping.execute(uow.session, [])  # nothing to do: no statement
        assert BY_SEQ.rows(uow.session, keys={"seqs": [1, 2, 3, 4]}) == [_row(4)]
        # leaving without commit rolls back
    with database.reading() as session:
        assert len(BY_SEQ.rows(session, keys={"seqs": [1, 2, 3]})) == 3
    with database.unit_of_work() as uow:
        dropping.execute(uow.session, [{"seq": 1}])
        uow.commit()
    with database.reading() as session:
        assert sorted(seq for seq, _, _ in BY_SEQ.rows(session, keys={"seqs": [1, 2, 3]})) == [2, 3]


def test_values_the_statement_states_itself_are_sent_with_every_execution(database: Database) -> None:
    def fifth(_dialect: Dialect) -> Any:
        return select(ITEMS.c.name).where(ITEMS.c.seq == 4)

    with database.reading() as session:
        assert DriverStatement(fifth).rows(session) == [(NAMES[4],)]


def test_each_statement_is_built_once_per_dialect(database: Database) -> None:
    built: list[str] = []

    def counted(dialect: Dialect) -> Any:
        built.append(dialect.name)
        return _by_seq(dialect)

    statement = DriverStatement(counted)
    with database.reading() as session:
        for first in range(5):
            statement.rows(session, keys={"seqs": [first]})
    assert len(built) == 1


@pytest.mark.parametrize(
    ("statement", "error", "message"),
    [
        (select(ITEMS.c.seq).where(ITEMS.c.seq.in_([1, 2])), ValueError, "name keys with key_in"),
        (select(TIMED.c.at), TypeError, "driver may not take"),
        (delete(TIMED).where(TIMED.c.at == bindparam("at")), TypeError, "driver may not take"),
    ],
)
def test_statements_sqlalchemy_would_have_to_process_are_refused(
    statement: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        prepare(sqlite.dialect(), statement)


def test_only_the_ledgers_databases_are_served() -> None:
    with pytest.raises(NotImplementedError, match="mysql"):
        prepare(mysql.dialect(), select(ITEMS.c.seq))
