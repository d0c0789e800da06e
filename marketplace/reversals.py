"""Reversals as buyers see them: buffer compensations, certificate status, and suspending affected lots.

When a verified loss (fire, felling) makes the registry cancel credits from the buffer pool
(:func:`offsets.issuance.issue_for_report` on a loss report), :func:`record_compensation` records it, in
the same unit of work, as a :class:`~marketplace.reversal_models.BufferCompensation` naming the project's
batches issued before the cancel entry, and suspends every listed lot of those batches at once. A
certificate whose retired ranges touch an affected batch then reads ``compensated_by_buffer`` (已由缓冲池
补偿): its kilograms are still retired and still count, because the buffer pool made the atmosphere whole,
but the holder and the public can see that part of the sink behind them was lost.

What happens to orders of a suspended lot (decided here, since the issue leaves it open): new
reservations, quotes and re-reservations after expiry refuse the lot (they only take listed lots); orders
that already hold a reservation — unpaid or paid — are allowed to complete. Their credits are backed (the
buffer compensated the loss), their certificate will say so, and cancelling a reservation the buyer may
already be paying for would need a cause the order state machine does not have; a buyer who no longer
wants them cancels before paying. A lot is resumed by the registry with a reason, and only once the
project is no longer in loss: its cumulative verified net removals have again reached what it issued.

Functions take the caller's session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.models import Batch
from ledger.orm import as_utc
from ledger.sequencer import Sequencer
from marketplace.errors import MarketplaceError, check_utc, checked_text
from marketplace.models import Lot
from marketplace.reversal_models import BufferCompensation, BufferCompensationBatch, LotStatusChange
from offsets.actors import Actor
from offsets.issuance import cumulative, issue_for_report
from offsets.models import Issuance, MonitoringReport, Project

VALID = "valid"
COMPENSATED_BY_BUFFER = "compensated_by_buffer"
STATUS_LABELS: dict[str, dict[str, str]] = {
    VALID: {"zh": "有效", "en": "valid"},
    COMPENSATED_BY_BUFFER: {"zh": "已由缓冲池补偿", "en": "compensated by buffer"},
}
LISTED, SUSPENDED = "listed", "suspended"
MAX_REASON_CHARS = 1000
MAX_ACTOR_CHARS = 200


class ReversalError(MarketplaceError):
    """A request about a lot's status or a compensation that is refused; nothing has been written."""

    code = "reversal-error"
    status = 422


class LotNotFound(ReversalError):
    code = "not-found"
    status = 404


class LotStatusConflict(ReversalError):
    """The lot is already in the asked-for status, or its project is still in loss."""

    code = "lot-status-conflict"
    status = 409


@dataclass(frozen=True)
class Compensation:
    """A buffer compensation as a certificate or a lot's history states it."""

    id: int
    project_code: str
    report_id: int
    period_start: date
    period_end: date
    cancel_seq: int
    compensated_kg: int
    at: datetime
    batch_ids: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project_code": self.project_code,
            "report_id": self.report_id,
            "monitoring_period": f"{self.period_start.isoformat()}/{self.period_end.isoformat()}",
            "cancel_seq": self.cancel_seq,
            "compensated_kg": self.compensated_kg,
            "at": as_utc(self.at).isoformat(),
            "batches": list(self.batch_ids),
        }


# --- recording a compensation (the loss path of issuance) ---------------------------------------------


def issue_for_report_recording_reversal(
    session: Session, sequencer: Sequencer, report_id: int, actor: Actor, *, now: datetime
) -> Issuance:
    """:func:`offsets.issuance.issue_for_report`, then :func:`record_compensation` in the same transaction.

    What every caller that issues a report should use (the API, the demo), so that a loss cancelled from
    the buffer is never left without its compensation record and suspended lots.
    """
    issuance = issue_for_report(session, sequencer, report_id, actor)
    record_compensation(session, issuance, actor=actor.name, now=now)
    return issuance


def record_compensation(
    session: Session, issuance: Issuance, *, actor: str, now: datetime
) -> BufferCompensation | None:
    """Record the buffer compensation an issuance made, and suspend the affected lots; idempotent.

    Returns ``None`` for anything but a reversal that cancelled kilograms (a gain, or a loss that
    unissued removals or earlier compensation absorbed, cancels nothing and affects no certificate).
    """
    _check_utc(now)
    if issuance.kind != "reversal" or issuance.ledger_seq is None or issuance.buffer_kg <= 0:
        return None
    existing = session.scalar(
        select(BufferCompensation).where(BufferCompensation.report_id == issuance.report_id)
    )
    if existing is not None:
        return existing
    project = session.get(Project, issuance.project_id)
    report = session.get(MonitoringReport, issuance.report_id)
    assert project is not None
    assert report is not None
    batch_ids = list(
        session.scalars(
            select(Batch.id)
            .where(Batch.project == project.code, Batch.issue_seq < issuance.ledger_seq)
            .order_by(Batch.id)
        )
    )
    compensation = BufferCompensation(
        project_id=project.id,
        report_id=report.id,
        period_start=report.period_start,
        period_end=report.period_end,
        cancel_seq=issuance.ledger_seq,
        compensated_kg=issuance.buffer_kg,
        at=now,
        recorded_by=_text(actor, "actor", MAX_ACTOR_CHARS),
    )
    session.add(compensation)
    session.flush()
    session.add_all(BufferCompensationBatch(compensation_id=compensation.id, batch_id=b) for b in batch_ids)
    session.flush()
    reason = (
        f"buffer compensation of {issuance.buffer_kg} kg for a verified loss in project {project.code}, "
        f"monitoring period {report.period_start}/{report.period_end} (ledger entry {issuance.ledger_seq})"
    )
    lots = _locked_lots(session, select(Lot.id).where(Lot.batch_id.in_(batch_ids)))
    for lot in lots:
        if lot.status == LISTED:
            _change(session, lot, SUSPENDED, actor=actor, reason=reason, at=now, compensation=compensation)
    return compensation


# --- what certificates and lots show -----------------------------------------------------------------


def compensations_of_batches(session: Session, batch_ids: Iterable[str]) -> list[Compensation]:
    """The compensations that affect any of ``batch_ids``, oldest first."""
    wanted = sorted(set(batch_ids))
    if not wanted:
        return []
    ids = set(
        session.scalars(
            select(BufferCompensationBatch.compensation_id).where(
                BufferCompensationBatch.batch_id.in_(wanted)
            )
        )
    )
    return _compensations(session, ids)


def certificate_status(session: Session, batch_ids: Iterable[str]) -> dict[str, Any]:
    """``status`` (valid / compensated_by_buffer), its words, and the compensation (the earliest) or null.

    ``compensations`` lists every compensation that affects the certificate's batches, oldest first.
    """
    found = compensations_of_batches(session, batch_ids)
    status = COMPENSATED_BY_BUFFER if found else VALID
    return {
        "status": status,
        "status_label": dict(STATUS_LABELS[status]),
        "compensation": found[0].as_json() if found else None,
        "compensations": [compensation.as_json() for compensation in found],
    }


def project_in_loss(session: Session, project: Project) -> bool:
    """Whether the project's cumulative verified net removals are below what it has issued.

    After a verified loss that cancelled credits this holds until later verified removals make the
    loss good again (offsets.issuance issues nothing new until then either).
    """
    issued_kg, verified_kg = cumulative(session, project)
    return verified_kg < issued_kg


# --- suspension and resumption by the registry -------------------------------------------------------


def suspend_lot(session: Session, lot_id: str, *, actor: str, reason: str, now: datetime) -> LotStatusChange:
    """Stop a listed lot from selling (new reservations and quotes refuse it); the change is recorded."""
    _check_utc(now)
    reason = _text(reason, "reason", MAX_REASON_CHARS)
    actor = _text(actor, "actor", MAX_ACTOR_CHARS)
    lot = _locked_lot(session, lot_id)
    if lot.status == SUSPENDED:
        raise LotStatusConflict(f"lot {lot_id} is already suspended", field="lot_id")
    return _change(session, lot, SUSPENDED, actor=actor, reason=reason, at=now, compensation=None)


def resume_lot(session: Session, lot_id: str, *, actor: str, reason: str, now: datetime) -> LotStatusChange:
    """List a suspended lot again; refused while its project is still in loss (:func:`project_in_loss`)."""
    _check_utc(now)
    reason = _text(reason, "reason", MAX_REASON_CHARS)
    actor = _text(actor, "actor", MAX_ACTOR_CHARS)
    lot = _locked_lot(session, lot_id)
    if lot.status == LISTED:
        raise LotStatusConflict(f"lot {lot_id} is listed, not suspended", field="lot_id")
    project = session.get(Project, lot.project_id)
    assert project is not None
    if project_in_loss(session, project):
        issued_kg, verified_kg = cumulative(session, project)
        raise LotStatusConflict(
            f"project {project.code} is still in loss: {verified_kg} kg verified against {issued_kg} kg "
            "issued; resume the lot once verified removals have made the loss good",
            field="lot_id",
        )
    return _change(session, lot, LISTED, actor=actor, reason=reason, at=now, compensation=None)


def status_history(session: Session, lot_id: str) -> list[dict[str, Any]]:
    """The lot's status changes, oldest first, each with the compensation that caused it if any."""
    if session.get(Lot, lot_id) is None:
        raise LotNotFound(f"no lot {lot_id}", field="lot_id")
    changes = session.scalars(
        select(LotStatusChange).where(LotStatusChange.lot_id == lot_id).order_by(LotStatusChange.position)
    ).all()
    compensations = {
        c.id: c for c in _compensations(session, {c.compensation_id for c in changes if c.compensation_id})
    }
    return [change_json(change, compensations.get(change.compensation_id or 0)) for change in changes]


def change_json(change: LotStatusChange, compensation: Compensation | None = None) -> dict[str, Any]:
    return {
        "position": change.position,
        "from_status": change.from_status,
        "to_status": change.to_status,
        "at": as_utc(change.at).isoformat(),
        "actor": change.actor,
        "reason": change.reason,
        "compensation": compensation.as_json() if compensation is not None else None,
    }


# --- helpers -----------------------------------------------------------------------------------------


def _change(
    session: Session,
    lot: Lot,
    to_status: str,
    *,
    actor: str,
    reason: str,
    at: datetime,
    compensation: BufferCompensation | None,
) -> LotStatusChange:
    assert lot.status != to_status, (lot.id, to_status)
    position = session.scalar(
        select(func.count()).select_from(LotStatusChange).where(LotStatusChange.lot_id == lot.id)
    )
    change = LotStatusChange(
        lot_id=lot.id,
        position=int(position or 0),
        from_status=lot.status,
        to_status=to_status,
        at=at,
        actor=_text(actor, "actor", MAX_ACTOR_CHARS),
        reason=reason,
        compensation_id=compensation.id if compensation is not None else None,
    )
    session.add(change)
    lot.status = to_status
    session.flush()
    return change


def _locked_lots(session: Session, ids: Any) -> list[Lot]:
    """The lots whose ids ``ids`` selects, locked in lot-id order (as reservations lock them)."""
    return list(
        session.scalars(
            select(Lot)
            .where(Lot.id.in_(ids))
            .order_by(Lot.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _locked_lot(session: Session, lot_id: str) -> Lot:
    lots = _locked_lots(session, [lot_id])
    if not lots:
        raise LotNotFound(f"no lot {lot_id}", field="lot_id")
    return lots[0]


def _compensations(session: Session, ids: Iterable[int]) -> list[Compensation]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = session.execute(
        select(BufferCompensation, Project.code)
        .join(Project, Project.id == BufferCompensation.project_id)
        .where(BufferCompensation.id.in_(wanted))
        .order_by(BufferCompensation.cancel_seq)
    ).all()
    batches: dict[int, list[str]] = {}
    for compensation_id, batch_id in session.execute(
        select(BufferCompensationBatch.compensation_id, BufferCompensationBatch.batch_id)
        .where(BufferCompensationBatch.compensation_id.in_(wanted))
        .order_by(BufferCompensationBatch.batch_id)
    ):
        batches.setdefault(compensation_id, []).append(batch_id)
    return [
        Compensation(
            id=row.id,
            project_code=code,
            report_id=row.report_id,
            period_start=row.period_start,
            period_end=row.period_end,
            cancel_seq=row.cancel_seq,
            compensated_kg=row.compensated_kg,
            at=row.at,
            batch_ids=tuple(batches.get(row.id, ())),
        )
        for row, code in rows
    ]


def _text(value: object, field: str, max_chars: int) -> str:
    return checked_text(value, field, max_chars, ReversalError)


def _check_utc(at: object) -> None:
    check_utc(at, ReversalError)
