"""Issuance: verified net removals become a serialised batch on the ledger, less the buffer share.

quantity = the verified net removals of the period, capped so that the project's cumulative issuance
never exceeds its cumulative verified net removals (so after a loss nothing more is issued until the
loss has been made good); ``buffer_percent`` of it (rounded up, so the pool is never short) goes to the
non-permanence buffer account, the rest to the owner. A verified loss (fire, felling) is reversed by
cancelling from the buffer pool, the project's own batches first, exactly the shortfall it leaves in
the backing of issued credits (issued − cancelled so far − cumulative verified stock): a loss absorbed
by removals not yet issued, or already covered by earlier cancellations, cancels nothing. Ledger
entries are appended in the caller's transaction with request ids derived from the report, so that a
retry cannot issue twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.accounts import BUFFER, ensure_registry_accounts
from ledger.commands import Allocation, Cancel, Issue, Selection
from ledger.errors import InsufficientHolding
from ledger.models import Batch, Holding
from ledger.sequencer import Sequencer
from offsets import regions
from offsets.actors import Actor
from offsets.errors import Conflict, Forbidden
from offsets.lifecycle import Role
from offsets.models import Issuance, MonitoringReport, Organisation, Project, Verification
from offsets.monitoring import get_report, report_status, verified_quantity


def cumulative(session: Session, project: Project) -> tuple[int, int]:
    """``(issued_kg, verified_kg)`` of the project so far.

    Issued counts issuances and imports; verified is the signed sum of verified net removals, losses
    included, plus imported batches (another registry verified them). A reversal does not reduce
    what was issued: after a loss the project issues nothing more until its verified removals have
    made the loss good again, while the buffer pool has compensated the atmosphere meanwhile.
    """

    def total(kinds: tuple[str, ...]) -> int:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(Issuance.owner_kg + Issuance.buffer_kg), 0)).where(
                    Issuance.project_id == project.id, Issuance.kind.in_(kinds)
                )
            )
            or 0
        )

    verified = session.scalar(
        select(func.coalesce(func.sum(Verification.verified_net_removals_kg), 0))
        .select_from(Verification)
        .join(MonitoringReport, MonitoringReport.id == Verification.report_id)
        .where(MonitoringReport.project_id == project.id, Verification.decision == "verified")
    )
    return total(("issue", "import")), int(verified or 0) + total(("import",))


def _next_batch_number(session: Session, project: Project, vintage: str) -> int:
    highest = session.scalar(
        select(func.max(Batch.number)).where(Batch.project == project.code, Batch.vintage == vintage)
    )
    return (highest or 0) + 1


def issue_for_report(session: Session, sequencer: Sequencer, report_id: int, actor: Actor) -> Issuance:
    """Issue (or, for a loss, reverse) what a verified report gives; once per report."""
    if actor.role is not Role.REGISTRY_ADMIN:
        raise Forbidden("only the registry issues credits", field="role")
    report = get_report(session, report_id)
    if report_status(session, report) != "verified":
        raise Conflict("only a verified report can be issued", field="report_id")
    existing = session.scalar(select(Issuance).where(Issuance.report_id == report.id))
    if existing is not None:
        return existing
    project = session.get(Project, report.project_id)
    owner = session.get(Organisation, project.owner_id) if project else None
    assert project is not None
    assert owner is not None
    assert owner.ledger_account_id is not None
    ensure_registry_accounts(session)
    verified = verified_quantity(session, report)
    assert verified is not None
    vintage = str(report.period_end.year)
    issued, verified_total = cumulative(session, project)
    if verified < 0:
        # Issued credits must stay backed: stock (cumulative verified removals) plus what the buffer has
        # cancelled for the project must cover them. Only a shortfall beyond that is cancelled now, so a
        # loss that unissued removals absorb, or that earlier compensation covers, cancels nothing.
        compensated = int(
            session.scalar(
                select(func.coalesce(func.sum(Issuance.buffer_kg), 0)).where(
                    Issuance.project_id == project.id, Issuance.kind == "reversal"
                )
            )
            or 0
        )
        shortfall = issued - compensated - max(verified_total, 0)
        return _reverse(
            session,
            sequencer,
            project,
            report,
            loss_kg=-verified,
            to_cancel_kg=min(-verified, max(0, shortfall)),
            vintage=vintage,
        )
    quantity = min(verified, verified_total - issued)
    if quantity <= 0:
        raise Conflict(
            "nothing to issue: cumulative issuance has reached cumulative verified removals",
            field="report_id",
        )
    buffer_kg = -(-quantity * project.buffer_percent // 100)
    owner_kg = quantity - buffer_kg
    allocations = tuple(
        allocation
        for allocation in (Allocation(owner.ledger_account_id, owner_kg), Allocation(BUFFER, buffer_kg))
        if allocation.quantity_kg > 0
    )
    county = regions.division(project.county_code)
    poverty = regions.poverty_status(project.county_code)
    number = _next_batch_number(session, project, vintage)
    [entry] = sequencer.append(
        session,
        [
            Issue(
                request_id=f"issuance:report:{report.id}",
                project=project.code,
                vintage=vintage,
                number=number,
                allocations=allocations,
                attributes={
                    "project_name": project.name[:200],
                    "project_type": project.project_type,
                    "county_code": county.code,
                    "county": county.name,
                    "zone": project.zone,
                    "methodology": report.methodology,
                    "monitoring_period": f"{report.period_start}/{report.period_end}",
                    "buffer_percent": project.buffer_percent,
                    "poverty_county": poverty is not None,
                },
            )
        ],
    )
    issuance = Issuance(
        project_id=project.id,
        report_id=report.id,
        kind="issue",
        batch_id=entry.data["batch"]["id"],
        vintage=vintage,
        owner_kg=owner_kg,
        buffer_kg=buffer_kg,
        buffer_percent=project.buffer_percent,
        ledger_seq=entry.seq,
        at=datetime.now(UTC),
    )
    session.add(issuance)
    session.flush()
    return issuance


def _reverse(
    session: Session,
    sequencer: Sequencer,
    project: Project,
    report: MonitoringReport,
    *,
    loss_kg: int,
    to_cancel_kg: int,
    vintage: str,
) -> Issuance:
    """Cancel from the buffer pool what a verified loss took from issued credits (the project's own
    buffer batches first), and record the reversal; a loss within unissued removals cancels nothing."""
    if to_cancel_kg <= 0:
        return _record_reversal(session, project, report, cancelled_kg=0, ledger_seq=None, vintage=vintage)
    own_batches = list(
        session.scalars(
            select(Holding.batch_id)
            .join(Batch, Batch.id == Holding.batch_id)
            .where(Holding.account_id == BUFFER, Batch.project == project.code)
            .distinct()
            .order_by(Holding.batch_id)
        )
    )
    other_batches = list(
        session.scalars(
            select(Holding.batch_id).where(Holding.account_id == BUFFER).distinct().order_by(Holding.batch_id)
        )
    )
    order = tuple(own_batches + [batch for batch in other_batches if batch not in own_batches])
    if not order:
        raise Conflict("the buffer pool holds nothing to compensate the loss with", field="report_id")
    cancel = Cancel(
        request_id=f"reversal:report:{report.id}",
        account=BUFFER,
        selection=Selection(quantity_kg=to_cancel_kg, batches=order),
        reason=(
            f"reversal: verified loss of {loss_kg} kg in project {project.code} "
            f"({to_cancel_kg} kg of it issued), "
            f"monitoring period {report.period_start}/{report.period_end}"
        ),
    )
    try:
        [entry] = sequencer.append(session, [cancel])
    except InsufficientHolding as exc:
        raise Conflict(
            f"the buffer pool holds too little to compensate {to_cancel_kg} kg: {exc.message}",
            field="report_id",
        ) from exc
    return _record_reversal(
        session, project, report, cancelled_kg=to_cancel_kg, ledger_seq=entry.seq, vintage=vintage
    )


def _record_reversal(
    session: Session,
    project: Project,
    report: MonitoringReport,
    *,
    cancelled_kg: int,
    ledger_seq: int | None,
    vintage: str,
) -> Issuance:
    issuance = Issuance(
        project_id=project.id,
        report_id=report.id,
        kind="reversal",
        batch_id=None,
        vintage=vintage,
        owner_kg=0,
        buffer_kg=cancelled_kg,
        buffer_percent=project.buffer_percent,
        ledger_seq=ledger_seq,
        at=datetime.now(UTC),
    )
    session.add(issuance)
    session.flush()
    return issuance
