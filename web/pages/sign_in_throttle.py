"""A limit on failed sign-ins per e-mail address: at most ``limit`` attempts that were not followed by a
success within a sliding window of ``window_s`` seconds, counted in this process.

Why in-process and not in the database: the schema may only change through a migration, and a table of
attempts is not worth one while the passwords behind it are salted scrypt hashes of at least 12
characters (api/users.py), which already make each guess expensive. The limit is a brake on guessing one
person's password from one place, not the last line of defence: with ``n`` web processes an attacker who
is spread over all of them gets at most ``n`` times the limit per window, and a restart forgets the
count. A shared table (or the users' row) is the way to make it exact across processes; see the report
of issue 5.

Every attempt is counted *before* its password is checked (:meth:`FailedSignIns.attempt`) and forgiven
on success (:meth:`FailedSignIns.forgive`), so that parallel guesses cannot all slip in before the first
failure is recorded. Memory is bounded: at most ``max_addresses`` addresses are tracked; beyond that the
expired ones are dropped and then the longest-tracked ones. Plain Python (no Flask): the clock is the
caller's (``time.monotonic()`` in the views).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Final

DEFAULT_LIMIT: Final = 5
DEFAULT_WINDOW_S: Final = 15 * 60
DEFAULT_MAX_ADDRESSES: Final = 10_000
MAX_KEY_CHARS: Final = 254
"""RFC 5321's longest forward path; anything longer is cut (it cannot be a registered address anyway)."""


def address_key(email: str) -> str:
    """The address as the limit counts it: trimmed and lower-cased, as ``api.users`` stores it."""
    return (email or "").strip().lower()[:MAX_KEY_CHARS]


@dataclass
class FailedSignIns:
    limit: int = DEFAULT_LIMIT
    window_s: float = DEFAULT_WINDOW_S
    max_addresses: int = DEFAULT_MAX_ADDRESSES
    _attempts: dict[str, deque[float]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        assert self.limit >= 1, self.limit
        assert self.window_s > 0, self.window_s
        assert self.max_addresses >= 1, self.max_addresses

    def attempt(self, key: str, now_s: float) -> float | None:
        """Count an attempt for ``key``; ``None`` if it may go ahead, else the seconds until it may.

        A refused attempt is not counted, so that waiting out the window always works.
        """
        with self._lock:
            times = self._recent(key, now_s)
            if len(times) >= self.limit:
                return max(times[0] + self.window_s - now_s, 0.0)
            if key not in self._attempts:
                self._make_room(now_s)
                self._attempts[key] = times
            times.append(now_s)
            return None

    def forgive(self, key: str) -> None:
        """The address signed in: its earlier failures no longer count."""
        with self._lock:
            self._attempts.pop(key, None)

    def tracked(self) -> int:
        with self._lock:
            return len(self._attempts)

    def _recent(self, key: str, now_s: float) -> deque[float]:
        times = self._attempts.get(key, deque())
        while times and times[0] <= now_s - self.window_s:
            times.popleft()
        return times

    def _make_room(self, now_s: float) -> None:
        if len(self._attempts) < self.max_addresses:
            return
        for key in [key for key, times in self._attempts.items() if not self._recent(key, now_s)]:
            del self._attempts[key]
        while len(self._attempts) >= self.max_addresses:
            del self._attempts[next(iter(self._attempts))]
