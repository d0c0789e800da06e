"""The sequencer's hot statements, compiled once per dialect and sent to the driver as they are.

Executing a Core statement, SQLAlchemy looks up its compiled form, renders every ``IN`` list anew and
processes every parameter and result value in Python. For the few statements that every append runs,
that costs more than the database's own work: measured on SQLite, 1.8 ms to read the holdings of 500
accounts against 0.6 ms for the driver alone, and 2.3 ms against 0.5 ms to look 1,000 request ids up
among the entries. A :class:`DriverStatement` is built from a Core statement, compiled once per dialect
(its text, and the order of its positional parameters) and sent with ``exec_driver_sql``: it runs in the
session's transaction and engine events see it, but SQLAlchemy does nothing per value. So, as for
:mod:`ledger.bulk_insert`, it is only for columns whose values every driver takes and gives back as they
are (integers, text and bytes): a statement naming another column is refused when it is compiled.

A list of keys is one parameter whatever its length (:func:`key_in`), so one statement text serves
every append: on PostgreSQL an array, on SQLite a JSON array read by ``json_each``. Keys of two columns
(:func:`pair_in`) are two arrays on PostgreSQL and one JSON array of pairs on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    LargeBinary,
    String,
    bindparam,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

PASSED_AS_THEY_ARE = (Integer, String, LargeBinary)
"""Column types whose values every driver takes and gives back unchanged (BigInteger and Text included)."""

DIALECTS = ("postgresql", "sqlite")


class Prepared(NamedTuple):
    sql: str
    order: tuple[str, ...] | None
    """The name of each positional parameter; ``None`` when the driver takes named parameters."""
    fixed: dict[str, Any]
    """Values the statement states itself (``Head.id == 1``), added to every execution's."""


def prepare(
    dialect: Dialect,
    statement: Any,
    column_keys: Sequence[str] | None = None,
    *,
    positional: bool = False,
) -> Prepared:
    """The driver's SQL for ``statement`` and the order of its parameters (``column_keys``: of an INSERT).

    ``positional``: with positional parameters (``?`` or ``%s``) even where the dialect names them, so
    that the driver takes tuples (psycopg, which PostgreSQL's dialect uses, takes both styles). Refuses a
    statement whose parameters or result columns SQLAlchemy would have to convert, and an ``IN`` list
    rendered per execution (name keys with :func:`key_in` instead).
    """
    if dialect.name not in DIALECTS:
        raise NotImplementedError(f"no driver statements for {dialect.name}: the ledger runs on {DIALECTS}")
    if positional and not dialect.positional:
        dialect = _positional_twin(dialect)
    compiled = statement.compile(
        dialect=dialect, column_keys=list(column_keys) if column_keys is not None else None
    )
    for name, bind in compiled.binds.items():
        if bind.expanding:
            raise ValueError(f"parameter {name} is a list rendered per execution; name keys with key_in()")
        if not isinstance(bind.type, (*PASSED_AS_THEY_ARE, ARRAY)):
            raise TypeError(f"parameter {name} is {bind.type!r}, which the driver may not take as it is")
    check_plain(getattr(statement, "selected_columns", ()), "result column")
    order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
    fixed = {name: value for name, value in compiled.params.items() if value is not None}
    return Prepared(str(compiled), order, fixed)


@lru_cache(maxsize=8)
def _positional_twin(dialect: Dialect) -> Dialect:
    """A dialect of the same kind that writes ``%s`` placeholders: only to compile statements with."""
    kind: Any = type(dialect)  # a DefaultDialect, whose constructor takes the paramstyle
    twin: Dialect = kind(paramstyle="format")
    return twin


def check_plain(columns: Iterable[Any], what: str) -> None:
    """Refuse columns whose values SQLAlchemy would have to convert for or from the driver."""
    for column in columns:
        if not isinstance(column.type, PASSED_AS_THEY_ARE):
            raise TypeError(
                f"{what} {column.name} is {column.type!r}, which the driver may not take as it is"
            )


def parameters(prepared: Prepared, values: Mapping[str, Any]) -> Any:
    """One set of parameters in the form the driver takes: a tuple in order, or a mapping."""
    given = {**prepared.fixed, **values} if prepared.fixed else values
    if prepared.order is None:
        return given
    return tuple([given[name] for name in prepared.order])


def key_in(dialect: Dialect, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column`` is one of the keys passed as the single parameter ``name`` (see :func:`key_list`).

    PostgreSQL: ``IN (SELECT unnest(array))``, which the planner joins: by the column's index for a large
    table, by a hash for a small one. Not ``= ANY(array)``: once the driver has prepared the statement,
    the server's generic plan assumes ten keys, and for a small table compares every row with every key
    (measured: 44 ms for 411 keys among 1,655 accounts, against 1.3 ms this way). SQLite: ``IN`` over
    ``json_each`` of a JSON array, answered with one search of the column's index per key.
    """
    if dialect.name == "postgresql":
        return column.in_(select(func.unnest(bindparam(name, type_=ARRAY(column.type)))))
    keys = func.json_each(bindparam(name, type_=String)).table_valued("value")
    return column.in_(select(keys.c.value))


def key_list(dialect: Dialect, keys: Sequence[str | int]) -> Any:
    """The value of a :func:`key_in` parameter: the list itself, or its JSON text for SQLite."""
    return list(keys) if dialect.name == "postgresql" else orjson.dumps(list(keys)).decode("utf-8")


def pair_in(
    dialect: Dialect, left: ColumnElement[Any], right: ColumnElement[Any], name: str
) -> ColumnElement[bool]:
    """``(left, right)`` is one of the pairs passed as ``name`` (see :func:`pair_values`).

    :func:`key_in` for a key of two columns. PostgreSQL: ``IN`` over ``unnest`` of two arrays of the
    same length, zipped (parameters ``name_0`` and ``name_1``). SQLite: ``IN`` over ``json_each`` of one
    JSON array of pairs, answered with one search of an index on both columns per pair (not a join of
    two ``json_each``, which SQLite answers by scanning the second array for every element of the first).
    """
    if dialect.name == "postgresql":
        columns = (
            func.unnest(
                bindparam(f"{name}_0", type_=ARRAY(left.type)),
                bindparam(f"{name}_1", type_=ARRAY(right.type)),
            )
            .table_valued("left_key", "right_key")
            .render_derived()
        )  # AS anon(left_key, right_key)
        pairs = select(columns.c.left_key, columns.c.right_key)
    else:
        items = func.json_each(bindparam(name, type_=String)).table_valued("value")
        pairs = select(
            func.json_extract(items.c.value, literal_column("'$[0]'")),
            func.json_extract(items.c.value, literal_column("'$[1]'")),
        )
    return tuple_(left, right).in_(pairs)


def pair_values(dialect: Dialect, name: str, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The parameters of a :func:`pair_in` named ``name``, for ``pairs``."""
    if dialect.name == "postgresql":
        return {f"{name}_0": [left for left, _ in pairs], f"{name}_1": [right for _, right in pairs]}
    return {name: orjson.dumps(list(pairs)).decode("utf-8")}


class DriverStatement:
    """A Core statement built per dialect by ``build``, compiled once, and sent as the driver's SQL.

    ``build`` may name lists of keys with :func:`key_in`, and of pairs with :func:`pair_in`; :meth:`rows`
    takes them by name in ``keys`` and ``pairs``.
    """

    def __init__(self, build: Callable[[Dialect], Any]) -> None:
        self._build = build
        self._prepared: dict[Dialect, Prepared] = {}

    def prepared(self, dialect: Dialect) -> Prepared:
        prepared = self._prepared.get(dialect)
        if prepared is None:
            prepared = self._prepared[dialect] = prepare(dialect, self._build(dialect))
        return prepared

    def rows(
        self,
        session: Session,
        values: Mapping[str, Any] | None = None,
        keys: Mapping[str, Sequence[str | int]] | None = None,
        pairs: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    ) -> list[tuple[Any, ...]]:
        """The result rows as plain tuples (what the compiled modules unpack: ``ledger/native.py``).

        Fetched from the driver's cursor as the driver made them (both drivers make tuples), not as
        SQLAlchemy rows copied into tuples one by one: the holdings of an append's accounts run to
        hundreds of rows.
        """
        connection = session.connection()
        dialect = connection.dialect
        given = dict(values) if values else {}
        if keys:
            for name, listed in keys.items():
                given[name] = key_list(dialect, listed)
        if pairs:
            for name, listed_pairs in pairs.items():
                given.update(pair_values(dialect, name, listed_pairs))
        prepared = self.prepared(dialect)
        result = connection.exec_driver_sql(prepared.sql, parameters(prepared, given))
        try:
            rows = cast("list[tuple[Any, ...]]", result.cursor.fetchall())  # a list from both drivers
        finally:
            result.close()
        return rows

    def execute(self, session: Session, values: Sequence[Mapping[str, Any]]) -> None:
        """Run a write once for each set of ``values``, as one executemany; nothing if there are none."""
        if not values:
            return
        connection = session.connection()
        prepared = self.prepared(connection.dialect)
        if len(values) == 1:
            connection.exec_driver_sql(prepared.sql, parameters(prepared, values[0]))
        else:
            connection.exec_driver_sql(prepared.sql, [parameters(prepared, one) for one in values])
