"""Monitoring reports and their verification.

The owner submits a report for one monitoring period; the methodology calculates its net removals with
an itemised breakdown. A verifier organisation — never the project's owner, nor one affiliated with it or
that consulted on the project (offsets/affiliations.py) — verifies it (possibly at a
lower quantity, never a higher one) or returns it with comments; a returned period may be reported again.
Verification decisions are inserted, never changed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from offsets import methodologies
from offsets.actors import Actor
from offsets.affiliations import conflicts_of_interest
from offsets.errors import Conflict, Forbidden, InvalidInput, NotFound
from offsets.lifecycle import ProjectStatus, Role
from offsets.models import MonitoringReport, Organisation, Project, Verification
from offsets.onboarding import imported_periods

DAYS_PER_YEAR = Decimal("365.25")
PERIOD_TOLERANCE_YEARS = Decimal(31) / DAYS_PER_YEAR
"""The stated period length may differ from the dates by at most a month (reports state whole months)."""


def report_status(session: Session, report: MonitoringReport) -> str:
    """``submitted`` until a verifier decides, then ``verified`` or ``returned``."""
    decision = session.scalar(
        select(Verification.decision)
        .where(Verification.report_id == report.id)
        .order_by(Verification.id.desc())
        .limit(1)
    )
    return decision or "submitted"


def submit_report(
    session: Session,
    project: Project,
    actor: Actor,
    *,
    period_start: date,
    period_end: date,
    inputs: dict[str, Any],
) -> MonitoringReport:
    if actor.role is not Role.PROJECT_OWNER or actor.organisation_id != project.owner_id:
        raise Forbidden("only the project's owner submits its monitoring reports", field="project_id")
    if project.status != ProjectStatus.REGISTERED.value:
        raise Conflict(
            f"monitoring reports are for registered projects; this one is {project.status}", field="status"
        )
    if period_end <= period_start:
        raise InvalidInput("the period must end after it starts", field="period_end")
    if period_start < project.crediting_start or period_end > project.crediting_end:
        raise InvalidInput(
            f"the period must lie in the crediting period {project.crediting_start}..{project.crediting_end}",
            field="period_start",
        )
    # Periods are whole days, both ends included.
    for other in session.scalars(select(MonitoringReport).where(MonitoringReport.project_id == project.id)):
        overlaps = other.period_start <= period_end and period_start <= other.period_end
        if overlaps and report_status(session, other) != "returned":
            raise Conflict(
                f"the period overlaps report {other.id} ({other.period_start}..{other.period_end})",
                field="period_start",
            )
    for start, end, batch in imported_periods(session, project):
        if start <= period_end and period_start <= end:
            raise Conflict(
                f"another registry credited {start}..{end} already (imported batch {batch})",
                field="period_start",
            )
    methodology = methodologies.get(project.methodology)
    try:
        calculation = methodology.calculate(inputs)
    except methodologies.MethodologyInputError as exc:
        raise InvalidInput(str(exc), field=f"inputs.{exc.field}") from exc
    period_years = Decimal((period_end - period_start).days + 1) / DAYS_PER_YEAR
    if abs(calculation.period_years - period_years) > PERIOD_TOLERANCE_YEARS:
        raise InvalidInput(
            f"period_years is {calculation.period_years} but {period_start}..{period_end} is "
            f"{period_years.quantize(Decimal('0.01'))} years",
            field="inputs.period_years",
        )
    report = MonitoringReport(
        project_id=project.id,
        period_start=period_start,
        period_end=period_end,
        methodology=methodology.id,
        inputs=inputs,
        calculation=calculation.as_dict(),
        net_removals_kg=calculation.net_removals_kg(),
        submitted_by=actor.name,
        submitted_at=datetime.now(UTC),
    )
    session.add(report)
    session.flush()
    return report


def get_report(session: Session, report_id: int) -> MonitoringReport:
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise NotFound(f"no monitoring report {report_id}", field="report_id")
    return report


def verify_report(
    session: Session,
    report: MonitoringReport,
    actor: Actor,
    *,
    verified: bool,
    comments: str,
    verified_net_removals_kg: int | None = None,
) -> Verification:
    """The verifier's decision. A verified quantity may be lower than the calculated one, never higher."""
    if actor.role is not Role.VERIFIER or actor.organisation_id is None:
        raise Forbidden("only a verifier organisation verifies monitoring reports", field="role")
    verifier = session.get(Organisation, actor.organisation_id)
    project = session.get(Project, report.project_id)
    assert project is not None
    if verifier is None or verifier.kind != "verifier":
        raise Forbidden("the acting organisation is not a verifier", field="role")
    if verifier.id == project.owner_id:
        raise Forbidden("a verifier cannot verify its own project", field="report_id")
    now = datetime.now(UTC)
    # Impartiality: nor a project of an affiliated owner, nor one its group consulted on (see affiliations).
    conflicts = conflicts_of_interest(session, verifier.id, project, now)
    if conflicts:
        raise Forbidden(
            "a verifier cannot verify a project it has a conflict of interest in: "
            + "; ".join(conflict.message for conflict in conflicts),
            field="report_id",
        )
    if report_status(session, report) != "submitted":
        raise Conflict("this report has been decided already", field="report_id")
    if not comments.strip():
        raise InvalidInput("a decision carries the verifier's comments", field="comments")
    quantity = None
    if verified:
        quantity = report.net_removals_kg if verified_net_removals_kg is None else verified_net_removals_kg
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidInput("whole kilograms", field="verified_net_removals_kg")
        calculated = report.net_removals_kg
        if (calculated >= 0 and not 0 <= quantity <= calculated) or (
            calculated < 0 and quantity > calculated
        ):
            raise InvalidInput(
                "a verifier may confirm the calculated net removals or less, and may not shrink a loss",
                field="verified_net_removals_kg",
            )
    decision = Verification(
        report_id=report.id,
        verifier_id=verifier.id,
        decision="verified" if verified else "returned",
        verified_net_removals_kg=quantity,
        comments=comments.strip(),
        at=now,
    )
    session.add(decision)
    session.flush()
    return decision


def verified_quantity(session: Session, report: MonitoringReport) -> int | None:
    return session.scalar(
        select(Verification.verified_net_removals_kg)
        .where(Verification.report_id == report.id, Verification.decision == "verified")
        .limit(1)
    )
