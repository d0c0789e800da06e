"""Engines and the unit of work: one transaction per command, rolled back unless committed.

SQLite (the embedded default) gets foreign keys, WAL and a busy timeout, and every transaction begins
``IMMEDIATE`` so that a writer takes the database's write lock before it reads the state it will
change — on SQLite that lock *is* the sequencer lock. Read-only units of work begin ``DEFERRED``.
PostgreSQL writers run at READ COMMITTED and the sequencer locks the ledger head row itself; readers
run at REPEATABLE READ, one snapshot per unit of work.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_STATEMENT_TIMEOUT_MS = 60_000
PG_LOCK_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    # Timeouts bound every statement and lock wait; options given in the URL (e.g. a search_path) are kept.
    parsed = make_url(url)
    options = f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS} -c lock_timeout={PG_LOCK_TIMEOUT_MS}"
    if "options" in parsed.query:
        options += " " + str(parsed.query["options"])
        parsed = parsed.difference_update_query(["options"])
    return create_engine(parsed, connect_args={"options": options}, pool_pre_ping=True, **kwargs)


def is_sqlite(engine_or_session: Engine | Session | Connection) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "sqlite"


def require_json_functions(cursor: Any) -> None:
    """Refuse, on connecting, an SQLite without its JSON functions: the ledger names keys with json_each.

    SQLite has them built in since 3.38 (2022), and most builds had them before; without them every
    append would fail at its first statement (``ledger/driver_sql.py``), so this says why at once.
    """
    try:
        cursor.execute("SELECT count(*) FROM json_each('[]')")
    except sqlite3.OperationalError as exc:
        version = sqlite3.sqlite_version
        raise RuntimeError(
            f"SQLite {version} has no JSON functions (json_each), which the ledger needs: "
            "use SQLite 3.38 or newer, or a build with JSON1"
        ) from exc


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling is switched off so that we can say BEGIN ourselves
    # (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        # REPLACE conflict resolution then fires DELETE triggers, which refuse to rewrite history.
        cursor.execute("PRAGMA recursive_triggers = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit waits for the WAL to reach the disk. With NORMAL, a power loss or an operating
        # system crash may undo the last commits; the registry may by then have published a signed
        # checkpoint, or a certificate, covering those entries, and would append other entries at the
        # same seqs: to everyone who kept the checkpoint, a rewritten history. About 0.3 ms a commit
        # here (measured on this machine's virtual disk), once per append, not per entry.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        require_json_functions(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = "DEFERRED" if connection.get_execution_options().get("tanhui_read_only") else "IMMEDIATE"
        connection.exec_driver_sql(f"BEGIN {mode}")


class UnitOfWork:
    """A session in one transaction: ``commit()`` makes it count, leaving the block rolls back."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self.session.begin()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.session.in_transaction():
                self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()


class Database:
    """The engine plus factories for writing and read-only units of work."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._writer = sessionmaker(self.engine, expire_on_commit=False, autobegin=False)
        # A reader sees one snapshot for its whole transaction, so that a verification or a proof made of
        # several statements never mixes states from before and after a concurrent append.
        reader_options: dict[str, Any] = {"tanhui_read_only": True}
        if self.engine.dialect.name == "postgresql":
            reader_options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self._reader = sessionmaker(
            self.engine.execution_options(**reader_options), expire_on_commit=False, autobegin=False
        )

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._writer)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session (on SQLite it does not take the write lock)."""
        with UnitOfWork(self._reader) as uow:
            yield uow.session

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def shareable(self) -> bool:
        """Whether another process can open the same database from :attr:`url` (not in-memory SQLite)."""
        database = make_url(self.url).database
        return not self.is_sqlite or database not in (None, "", ":memory:")

    def dispose(self) -> None:
        self.engine.dispose()
