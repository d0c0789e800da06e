"""The registry's own full verifications, kept: when each ran, over how many entries, and what it found.

The scheduler verifies the whole ledger every night (``tanhui ledger verify`` as a job). A failure used
to reach only the log; now every run is stored, so that the ledger page and the health check can show
when the ledger was last verified and whether it held, and an operator can see the first bad seq
without searching the logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import VerificationRun
from ledger.orm import as_utc
from ledger.verify import VerificationReport
from ledger.verify_common import VerificationFailure

MAX_DETAIL_CHARS = 2_000


@dataclass(frozen=True)
class RunRecord:
    started_at: datetime
    finished_at: datetime
    tree_size: int
    """Entries verified; for a failure, the ledger's size when the run began."""
    ok: bool
    failed_seq: int | None = None
    failure: str | None = None
    """What was wrong (leaf hash, chain link, root, signature, holdings...), as ``ledger verify`` says."""
    detail: str | None = None


def record_run(
    session: Session,
    *,
    started_at: datetime,
    finished_at: datetime,
    outcome: VerificationReport | VerificationFailure,
    size_at_start: int,
) -> RunRecord:
    """Store the outcome of one run: the report of a ledger that held, or the first failure found."""
    row = VerificationRun(started_at=started_at, finished_at=finished_at)
    if isinstance(outcome, VerificationFailure):
        row.tree_size, row.ok = size_at_start, False
        row.failed_seq, row.failure = outcome.seq, outcome.what[:40]
        row.detail = outcome.detail[:MAX_DETAIL_CHARS]
    else:
        row.tree_size, row.ok = outcome.size, True
    session.add(row)
    session.flush()
    return _record(row)


def latest_run(session: Session) -> RunRecord | None:
    """The run that finished last, if any has."""
    row = session.scalars(
        select(VerificationRun)
        .order_by(VerificationRun.finished_at.desc(), VerificationRun.id.desc())
        .limit(1)
    ).first()
    return _record(row) if row is not None else None


def _record(row: VerificationRun) -> RunRecord:
    return RunRecord(
        as_utc(row.started_at),
        as_utc(row.finished_at),
        row.tree_size,
        row.ok,
        row.failed_seq,
        row.failure,
        row.detail,
    )
