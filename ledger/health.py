"""The ledger's state as operators and the public need to watch it: signed, and verified, in good time.

Three things can fall behind without any request failing: checkpoint signing (entries that no signed
checkpoint covers cannot be proven to anyone), the nightly full verification (a ledger whose stored
state no longer replays goes unnoticed), and a verification that found something (it must be looked
at). :func:`ledger_health` says which need attention; ``GET /api/v1/health`` serves it to monitors,
and the ledger page shows the last verification to everyone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ledger import checkpoints, proofs
from ledger.entries import parse_time
from ledger.orm import as_utc
from ledger.verification_runs import RunRecord, latest_run
from ledger.witness_push import push_states

VERIFICATION_MAX_AGE = timedelta(hours=48)
"""The scheduler verifies every night; two days without a finished run means the job is not running."""


@dataclass(frozen=True)
class LedgerHealth:
    size: int
    checkpoint_size: int | None
    checkpoint_signed_at: datetime | None
    oldest_unsigned_at: datetime | None
    """The time of the first entry no checkpoint covers (None when every entry is covered)."""
    last_run: RunRecord | None
    attention: list[str] = field(default_factory=list)
    """What needs looking at, as codes: ``checkpoint_behind``, ``never_verified``, ``verification_stale``,
    ``verification_failed``, ``witness_push_failed`` (a witness that checkpoints are pushed to did not
    cosign the last one pushed); empty when all is well."""


def ledger_health(session: Session, now: datetime, checkpoint_lag: timedelta) -> LedgerHealth:
    """The ledger's health at ``now``; entries may wait up to ``checkpoint_lag`` for a checkpoint."""
    size = checkpoints.ledger_size(session)
    record = checkpoints.latest(session)
    covered = record.size if record is not None else 0
    oldest_unsigned = _entry_time(session, covered) if covered < size else None
    run = latest_run(session)
    attention = []
    if oldest_unsigned is not None and now - oldest_unsigned > checkpoint_lag:
        attention.append("checkpoint_behind")
    if run is None:
        if size:
            attention.append("never_verified")
    else:
        if now - run.finished_at > VERIFICATION_MAX_AGE:
            attention.append("verification_stale")
        if not run.ok:
            attention.append("verification_failed")
    if any(push.error is not None for push in push_states(session).values()):
        attention.append("witness_push_failed")
    return LedgerHealth(
        size=size,
        checkpoint_size=record.size if record is not None else None,
        checkpoint_signed_at=as_utc(record.created_at) if record is not None else None,
        oldest_unsigned_at=oldest_unsigned,
        last_run=run,
        attention=attention,
    )


def _entry_time(session: Session, seq: int) -> datetime:
    """The time entry ``seq`` states in its body (RFC 3339 UTC, as the ledger writes it)."""
    return parse_time(json.loads(proofs.entry(session, seq).body)["time"])
