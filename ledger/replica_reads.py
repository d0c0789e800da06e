"""Reads a read replica may answer, and the primary's word where the replica has not caught up.

A streaming replica replays the primary's log with a delay, so it may not yet hold the entry, the
checkpoint or the certificate a client has just heard of from the primary. What the ledger publishes
never changes once written, so a replica's answer about it is either the primary's answer or "not
there (yet)". :func:`read_published` therefore asks the replica first and the primary when the replica
says "not there": a :class:`~ledger.errors.NotFound` or :class:`~ledger.errors.ProofUnavailable`, or an
answer the caller marks as possibly incomplete (a page of entries that ends at the replica's newest).
An answer the primary would refuse as well (a seq beyond every checkpoint) costs one more query; an
error of the caller's input (:class:`~ledger.errors.InvalidCommand`) is raised at once.

A replica that fails (refuses connections, times out, cancels a query in a conflict with recovery) is
skipped for a while (:meth:`ledger.database.Database.replica_failed`); its reads go to the primary.
Any other database error on the replica sends that one read to the primary too: a replica still
replaying a migration lacks the new columns for a moment, and an error of the statement's own making
is raised by the primary as well, so none is hidden.

:func:`replica_health` is what ``GET /api/v1/health`` shows of the replica.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from ledger.database import Database, error_summary
from ledger.errors import NotFound, ProofUnavailable
from ledger.models import Head

T = TypeVar("T")
log = logging.getLogger(__name__)

NOT_YET_THERE = (NotFound, ProofUnavailable)
"""What a replica says of something it may only not have replayed yet."""
REPLICA_FAILURES = (OperationalError, InterfaceError)
"""Errors of the replica itself rather than of the request: connection lost or refused, timeouts, a
query cancelled by recovery. They take the replica out of use for a while."""

DEFAULT_MAX_LAG_S = 60.0
"""``replica_behind`` when the replica lacks entries and has replayed nothing for longer than this."""


def read_published(
    database: Database,
    read: Callable[[Session], T],
    complete: Callable[[T], bool] | None = None,
    absent: tuple[type[Exception], ...] = NOT_YET_THERE,
) -> T:
    """``read`` on the replica when there is one and it holds the answer, else on the primary.

    ``complete``: for answers that may end early on a lagging replica (a page that ends at the newest
    entry), whether this answer is whole; when not, the primary answers instead. ``absent``: the
    errors by which ``read`` says that what it looks for is not there (the ledger's, by default).
    """
    found = read_replica(database, read, complete, absent)
    if found is not None:
        return found[0]
    with database.reading() as session:
        return read(session)


def read_replica(
    database: Database,
    read: Callable[[Session], T],
    complete: Callable[[T], bool] | None = None,
    absent: tuple[type[Exception], ...] = NOT_YET_THERE,
) -> tuple[T] | None:
    """``(answer,)`` from the replica; None when there is none to ask, or it does not hold the answer."""
    if not database.replica_usable:
        return None
    try:
        with database.replica_reading() as session:
            result = read(session)
    except absent:
        return None
    except REPLICA_FAILURES as exc:
        database.replica_failed(exc)
        return None
    except DBAPIError as exc:
        log.warning("read replica: %s; read on the primary", error_summary(exc))
        return None
    return (result,) if complete is None or complete(result) else None


@dataclass(frozen=True)
class ReplicaHealth:
    reachable: bool
    size: int | None
    """The ledger's size on the replica (None when it cannot be reached)."""
    behind_entries: int | None
    replay_lag_s: float | None
    """Seconds since the replica last replayed a transaction (None when unknown)."""
    attention: list[str] = field(default_factory=list)
    """``replica_unreachable``, or ``replica_behind`` (entries missing, and nothing replayed for longer
    than the allowed lag); empty when all is well."""


def replica_health(
    database: Database, primary_size: int, max_lag_s: float = DEFAULT_MAX_LAG_S
) -> ReplicaHealth | None:
    """The replica's state against the primary's ledger size; None when no replica is configured.

    A replica with entries still to replay is normal for a moment under load; it needs attention when
    it has also replayed nothing for more than ``max_lag_s`` (stuck, paused or cut off).
    """
    if database.replica_engine is None:
        return None
    if not database.replica_usable:  # failed lately: not probed again (a silent one costs a timeout)
        return ReplicaHealth(False, None, None, None, ["replica_unreachable"])
    try:
        with database.replica_reading() as session:
            size = session.scalar(select(Head.size)) or 0
            lag = session.scalar(
                select(func.extract("epoch", func.now() - text("pg_last_xact_replay_timestamp()")))
            )
    except REPLICA_FAILURES as exc:
        database.replica_failed(exc)
        return ReplicaHealth(False, None, None, None, ["replica_unreachable"])
    behind = max(primary_size - size, 0)
    lag_s = float(lag) if lag is not None else None
    attention = []
    if behind and (lag_s is None or lag_s > max_lag_s):
        attention.append("replica_behind")
    return ReplicaHealth(True, size, behind, lag_s, attention)
