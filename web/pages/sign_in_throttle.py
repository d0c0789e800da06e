"""A limit on failed sign-ins per e-mail address: at most ``limit`` attempts that were not followed by a
success within a sliding window of ``window_s`` seconds, counted in the database.

The attempts live in ``sign_in_attempts`` (api/models.py), so every web process counts the same ones and
a restart forgets nothing. Every attempt is counted *before* its password is checked
(:meth:`FailedSignIns.attempt`, committed by the caller before it checks) and forgiven on success
(:meth:`FailedSignIns.forgive`), so parallel guesses cannot all slip in before the first failure is
recorded: attempts for one address are counted one at a time (PostgreSQL: a transaction-level advisory
lock on the address; SQLite: the write lock every writing unit of work takes first). An attempt also
forgets that address's attempts that have left the window, and :func:`prune` (a scheduler job) forgets
every expired one, so the table holds at most about ``limit`` rows per address under attack.

Plain Python (no Flask): the session and the clock are the caller's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from api.models import SignInAttempt
from ledger.orm import as_utc

DEFAULT_LIMIT: Final = 5
DEFAULT_WINDOW_S: Final = 15 * 60
MAX_KEY_CHARS: Final = 254
"""RFC 5321's longest forward path; anything longer is cut (it cannot be a registered address anyway)."""


def address_key(email: str) -> str:
    """The address as the limit counts it: trimmed and lower-cased, as ``api.users`` stores it."""
    return (email or "").strip().lower()[:MAX_KEY_CHARS]


@dataclass(frozen=True)
class FailedSignIns:
    limit: int = DEFAULT_LIMIT
    window_s: int = DEFAULT_WINDOW_S

    def __post_init__(self) -> None:
        assert self.limit >= 1, self.limit
        assert self.window_s > 0, self.window_s

    def attempt(self, session: Session, key: str, now: datetime) -> float | None:
        """Count an attempt for ``key``; ``None`` if it may go ahead, else the seconds until it may.

        A refused attempt is not counted, so that waiting out the window always works.
        """
        _lock_address(session, key)
        cutoff = now - timedelta(seconds=self.window_s)
        session.execute(delete(SignInAttempt).where(SignInAttempt.address == key, SignInAttempt.at <= cutoff))
        count, oldest = session.execute(
            select(func.count(), func.min(SignInAttempt.at)).where(SignInAttempt.address == key)
        ).one()
        if count >= self.limit:
            return max((as_utc(oldest) - cutoff).total_seconds(), 0.0)
        session.add(SignInAttempt(address=key, at=now))
        session.flush()
        return None

    def forgive(self, session: Session, key: str) -> None:
        """The address signed in: its earlier failures no longer count."""
        session.execute(delete(SignInAttempt).where(SignInAttempt.address == key))


def prune(session: Session, *, now: datetime, window_s: int = DEFAULT_WINDOW_S) -> int:
    """Forget every attempt that has left the window; returns how many. The caller commits."""
    result = session.execute(
        delete(SignInAttempt).where(SignInAttempt.at <= now - timedelta(seconds=window_s))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _lock_address(session: Session, key: str) -> None:
    """Count one attempt at a time per address (SQLite's write transaction already serialises them)."""
    if session.get_bind().dialect.name == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
