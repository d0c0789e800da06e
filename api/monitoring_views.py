"""Monitoring reports, their verification, and issuance onto the ledger.

The owner submits a report for a period; a verifier organisation verifies or returns it; the registry
issues what a verified report gives (or, for a verified loss, cancels it from the buffer pool). Each write
is one unit of work around one ``offsets`` function; issuance appends its ledger entry in the same
transaction, so a refused issuance leaves neither an issuance row nor an entry behind.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import optional_principal, require_role
from api.blueprint import api_blueprint as bp
from api.context import database, ledger_service
from api.idempotency import Created, run_creating
from api.openapi import document
from api.presenters import (
    issuance_document,
    may_see_report,
    report_document,
    report_summary,
    verification_document,
    visible_project,
    visible_report,
)
from api.projects_views import actionable_project
from api.schemas_offsets import (
    IssuanceSchema,
    MonitoringReportCreateSchema,
    MonitoringReportListSchema,
    MonitoringReportSchema,
    Strict,
    VerificationCreateSchema,
    VerificationSchema,
    dump,
    load_body,
)
from marketplace.reversals import issue_for_report_recording_reversal
from offsets.lifecycle import Role
from offsets.models import Issuance, MonitoringReport, Project
from offsets.monitoring import report_status, submit_report, verify_report

OWNER, VERIFIER, ADMIN = Role.PROJECT_OWNER, Role.VERIFIER, Role.REGISTRY_ADMIN


@bp.post("/projects/<id:project_id>/monitoring-reports")
@document(
    "Submit a monitoring report for a period; the methodology calculates its net removals",
    body="MonitoringReportCreateSchema",
    response="MonitoringReportSchema",
    status=201,
    roles=(OWNER.value,),
    tag="monitoring",
)
def submit_monitoring_report(project_id: int) -> Response:
    principal = require_role(OWNER)
    command = load_body(MonitoringReportCreateSchema())

    def work(session: Session) -> Created:
        project = actionable_project(session, project_id, principal)
        report = submit_report(
            session,
            project,
            principal.actor,
            period_start=command["period_start"],
            period_end=command["period_end"],
            inputs=command["inputs"],
        )
        return Created(
            dump(MonitoringReportSchema(), report_document(session, report)),
            location=url_for("api.get_monitoring_report", report_id=report.id),
        )

    return run_creating(principal, work)


@bp.get("/projects/<id:project_id>/monitoring-reports")
@document(
    "A project's monitoring reports (verified ones publicly; all to the owner, verifiers and the registry)",
    response="MonitoringReportListSchema",
    optional_auth=True,
    tag="monitoring",
)
def list_monitoring_reports(project_id: int) -> dict[str, Any]:
    principal = optional_principal()
    with database().reading() as session:
        project = visible_project(session, project_id, principal)
        reports = session.scalars(
            select(MonitoringReport)
            .where(MonitoringReport.project_id == project.id)
            .order_by(MonitoringReport.period_start, MonitoringReport.id)
        )
        items = [
            summary
            for summary in (report_summary(session, report) for report in reports)
            if may_see_report(project, summary["status"], principal)
        ]
        return dump(MonitoringReportListSchema(), {"project_id": project.id, "items": items})


@bp.get("/monitoring-reports/<id:report_id>")
@document(
    "A monitoring report with its itemised calculation, verifications and issuance",
    response="MonitoringReportSchema",
    optional_auth=True,
    tag="monitoring",
)
def get_monitoring_report(report_id: int) -> dict[str, Any]:
    principal = optional_principal()
    with database().reading() as session:
        report = visible_report(session, report_id, principal)
        return dump(MonitoringReportSchema(), report_document(session, report))


@bp.post("/monitoring-reports/<id:report_id>/verification")
@document(
    "Verify a report (at its calculated net removals or less) or return it with comments",
    body="VerificationCreateSchema",
    response="VerificationSchema",
    status=201,
    roles=(VERIFIER.value,),
    tag="monitoring",
)
def verify_monitoring_report(report_id: int) -> Response:
    principal = require_role(VERIFIER)
    command = load_body(VerificationCreateSchema())

    def work(session: Session) -> Created:
        report = visible_report(session, report_id, principal)
        verification = verify_report(
            session,
            report,
            principal.actor,
            verified=command["verified"],
            comments=command["comments"],
            verified_net_removals_kg=command["verified_net_removals_kg"],
        )
        return Created(
            dump(VerificationSchema(), verification_document(session, verification)),
            location=url_for("api.get_monitoring_report", report_id=report.id),
        )

    return run_creating(principal, work)


class IssuanceRequestSchema(Strict):
    """Issuance takes no parameters: the quantity is the verified one, the buffer share the project's."""


@bp.post("/monitoring-reports/<id:report_id>/issuance")
@document(
    "Issue a verified report's net removals (less the buffer share), or reverse a verified loss",
    response="IssuanceSchema",
    status=201,
    roles=(ADMIN.value,),
    tag="monitoring",
)
def issue_monitoring_report(report_id: int) -> Response:
    principal = require_role(ADMIN)
    if request.get_data(cache=True).strip():
        load_body(IssuanceRequestSchema())

    def work(session: Session) -> Created:
        report = visible_report(session, report_id, principal)
        project = session.get(Project, report.project_id)
        assert project is not None
        already = session.scalar(select(Issuance.id).where(Issuance.report_id == report.id)) is not None
        # A loss cancelled from the buffer is recorded as a compensation (certificates of the affected
        # batches then show it) and suspends the affected lots, in this same unit of work.
        issuance = issue_for_report_recording_reversal(
            session, ledger_service().sequencer, report.id, principal.actor, now=datetime.now(UTC)
        )
        assert report_status(session, report) == "verified"
        return Created(
            dump(IssuanceSchema(), issuance_document(session, issuance)),
            status=200 if already else 201,
            location=url_for("api.get_monitoring_report", report_id=report.id),
        )

    return run_creating(principal, work)
