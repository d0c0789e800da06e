"""Engines and the unit of work: one transaction per command, rolled back unless committed.

SQLite (the embedded default) gets foreign keys, WAL and a busy timeout, and every transaction begins
``IMMEDIATE`` so that a writer takes the database's write lock before it reads the state it will
change — on SQLite that lock *is* the sequencer lock. Read-only units of work begin ``DEFERRED``.
PostgreSQL writers run at READ COMMITTED and the sequencer locks the ledger head row itself; readers
run at REPEATABLE READ, one snapshot per unit of work.

A PostgreSQL primary may have a streaming read replica (``replica_url``). Only reads that name what
they need, and can tell when the replica has not caught up, go to it (:mod:`ledger.replica_reads`);
every write and every other read stays on the primary. A replica that cannot be reached is left alone
for :data:`REPLICA_RETRY_S` seconds, and its reads go to the primary meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_STATEMENT_TIMEOUT_MS = 60_000
PG_LOCK_TIMEOUT_MS = 30_000
REPLICA_CONNECT_TIMEOUT_S = 3
"""A replica that does not answer a connection within this long is taken for down."""
REPLICA_RETRY_S = 30.0
"""How long reads skip a replica that failed, before it is tried again."""

log = logging.getLogger(__name__)


def make_engine(url: str, *, connect_timeout_s: int | None = None, **kwargs: Any) -> Engine:
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
    connect_args: dict[str, Any] = {"options": options}
    if connect_timeout_s is not None:
        connect_args["connect_timeout"] = connect_timeout_s
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True, **kwargs)


def error_summary(error: BaseException) -> str:
    """The first line of a driver's error (SQLAlchemy adds the statement and a link below it)."""
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


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


def _reader_factory(engine: Engine) -> sessionmaker[Session]:
    # A reader sees one snapshot for its whole transaction, so that a verification or a proof made of
    # several statements never mixes states from before and after a concurrent append.
    options: dict[str, Any] = {"tanhui_read_only": True}
    if engine.dialect.name == "postgresql":
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return sessionmaker(engine.execution_options(**options), expire_on_commit=False, autobegin=False)


class Database:
    """The engine plus factories for writing and read-only units of work (and an optional replica's)."""

    def __init__(self, url: str, replica_url: str | None = None, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._writer = sessionmaker(self.engine, expire_on_commit=False, autobegin=False)
        self._reader = _reader_factory(self.engine)
        self.replica_url = replica_url or None
        self.replica_engine: Engine | None = None
        self._replica_reader: sessionmaker[Session] | None = None
        self._replica_down_until = 0.0
        self._replica_lock = threading.Lock()
        if self.replica_url is not None:
            if self.engine.dialect.name != "postgresql" or not self.replica_url.startswith("postgresql"):
                raise ValueError(
                    "a read replica is a PostgreSQL standby of a PostgreSQL primary: "
                    "set DATABASE_REPLICA_URL only with a postgresql:// DATABASE_URL, to a postgresql:// URL"
                )
            self.replica_engine = make_engine(
                self.replica_url, connect_timeout_s=REPLICA_CONNECT_TIMEOUT_S, **engine_kwargs
            )
            self._replica_reader = _reader_factory(self.replica_engine)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._writer)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session (on SQLite it does not take the write lock)."""
        with UnitOfWork(self._reader) as uow:
            yield uow.session

    @property
    def replica_usable(self) -> bool:
        """Whether reads may try the replica now: one is configured and has not just failed."""
        return self._replica_reader is not None and time.monotonic() >= self._replica_down_until

    @contextmanager
    def replica_reading(self) -> Iterator[Session]:
        """A read-only session on the replica (:meth:`reading` when none is configured).

        Its answers may lag behind the primary's: callers go through :mod:`ledger.replica_reads`, which
        knows which answers a lagging replica can give and asks the primary for the rest.
        """
        if self._replica_reader is None:
            with self.reading() as session:
                yield session
            return
        with UnitOfWork(self._replica_reader) as uow:
            yield uow.session

    def replica_failed(self, error: BaseException) -> None:
        """Skip the replica for :data:`REPLICA_RETRY_S` seconds (logged once per failure window)."""
        with self._replica_lock:
            if time.monotonic() < self._replica_down_until:
                return
            self._replica_down_until = time.monotonic() + REPLICA_RETRY_S
        log.warning(
            "read replica failed (%s); its reads go to the primary for %.0f s",
            error_summary(error),
            REPLICA_RETRY_S,
        )

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
        if self.replica_engine is not None:
            self.replica_engine.dispose()
