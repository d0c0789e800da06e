"""The one SQLAlchemy declarative base and constraint naming convention for the whole schema.

It lives in ``ledger`` because the ledger is the lowest layer and imports nothing of ours; the other
packages declare their tables on the same metadata so that foreign keys resolve and Alembic sees one
schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def as_utc(moment: datetime) -> datetime:
    """A ``DateTime(timezone=True)`` value read back as an aware UTC moment.

    SQLite gives back the stored UTC moment without its offset; PostgreSQL gives it in the session's
    time zone. Every reader of a stored time goes through here rather than a copy of its own.
    """
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def core_table(model: type[Any]) -> Table:
    """The Core table of a model: bulk writes and hot reads through it skip the ORM's per-row work."""
    return cast(Table, model.__table__)


def as_tuples(rows: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """Rows of a result as plain tuples, for the compiled modules (``ledger/native.py``).

    Compiled code takes a value declared as a tuple for one, and SQLAlchemy types its rows as tuples;
    a ``Row`` is not one at run time.
    """
    for row in rows:
        yield tuple(row)
