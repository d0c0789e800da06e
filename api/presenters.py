"""Who may see what of the supply side, and the documents the API answers with, built from the tables.

Visibility (the public portal's rules): a project is public from the moment it is submitted; a draft is
seen only by its owner and the registry (registry_admin, reviewer). Beneficiaries' names are shown only to
the owner and the registry. A monitoring report is public once verified; before that it is seen by the
project's owner, by verifiers (who must be able to pick it up) and by the registry. What a caller may not
see answers 404, so that its existence is not revealed either.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from ledger import proofs
from ledger.accounts import BUFFER
from ledger.entries import parse_body
from offsets import regions
from offsets.errors import NotFound
from offsets.issuance import cumulative
from offsets.lifecycle import ProjectStatus, Role, next_statuses
from offsets.models import (
    Issuance,
    MonitoringReport,
    Organisation,
    Project,
    ProjectBeneficiary,
    ProjectEvent,
    QualificationReview,
    Verification,
)
from offsets.monitoring import report_status
from offsets.projects import project_flags


def may_see_project(project: Project, principal: Principal | None) -> bool:
    if project.status != ProjectStatus.DRAFT.value:
        return True
    return principal is not None and (principal.is_registry or principal.owns(project.owner_id))


def may_see_private_details(project: Project, principal: Principal | None) -> bool:
    """Beneficiaries' names and the qualification documents: the owner's and the registry's business."""
    return principal is not None and (principal.is_registry or principal.owns(project.owner_id))


def may_see_report(project: Project, status: str, principal: Principal | None) -> bool:
    if status == "verified" and may_see_project(project, principal):
        return True
    if principal is None:
        return False
    return principal.is_registry or principal.role == Role.VERIFIER.value or principal.owns(project.owner_id)


def visible_project(session: Session, project_id: int, principal: Principal | None) -> Project:
    project = session.get(Project, project_id)
    if project is None or not may_see_project(project, principal):
        raise NotFound(f"no project {project_id}", field="project_id")
    return project


def visible_report(session: Session, report_id: int, principal: Principal | None) -> MonitoringReport:
    report = session.get(MonitoringReport, report_id)
    project = session.get(Project, report.project_id) if report is not None else None
    if (
        report is None
        or project is None
        or not may_see_report(project, report_status(session, report), principal)
    ):
        raise NotFound(f"no monitoring report {report_id}", field="report_id")
    return report


# --- documents ------------------------------------------------------------------------------------------


def organisation_document(organisation: Organisation) -> dict[str, Any]:
    return {
        "id": organisation.id,
        "name": organisation.name,
        "kind": organisation.kind,
        "credit_code": organisation.credit_code,
        "ledger_account_id": organisation.ledger_account_id,
        "created_at": organisation.created_at,
    }


def project_summary(project: Project, owner: Organisation) -> dict[str, Any]:
    county = regions.division(project.county_code)
    return {
        "id": project.id,
        "code": project.code,
        "name": project.name,
        "project_type": project.project_type,
        "project_type_zh": regions.regions().project_types[project.project_type],
        "status": project.status,
        "zone": project.zone,
        "county_code": county.code,
        "county": county.name,
        "prefecture": county.prefecture,
        "area_mu": project.area_mu,
        "standard": project.standard,
        "owner": {"id": owner.id, "name": owner.name},
    }


def project_document(session: Session, project: Project, principal: Principal | None) -> dict[str, Any]:
    """The public portal's facts of a project: type, scale, status, place, flags, and what it has issued."""
    owner = session.get(Organisation, project.owner_id)
    assert owner is not None
    flags = project_flags(project)
    issued_kg, verified_kg = cumulative(session, project)
    issuances = list(
        session.scalars(select(Issuance).where(Issuance.project_id == project.id).order_by(Issuance.id))
    )
    poverty = regions.poverty_status(project.county_code)
    document = {
        **project_summary(project, owner),
        "location": project.location,
        "methodology": project.methodology,
        "crediting_start": project.crediting_start,
        "crediting_end": project.crediting_end,
        "expected_annual_removals_kg": project.expected_annual_removals_kg,
        "contiguous_carbon_forest_mu": project.contiguous_carbon_forest_mu,
        "buffer_percent": project.buffer_percent,
        "external_registry": project.external_registry,
        "external_id": project.external_id,
        "poverty_county": None
        if poverty is None
        else {
            "category": poverty.category,
            "deep_poverty": poverty.deep_poverty,
            "exit_year": poverty.exit_year,
            "exit_document": poverty.exit_document,
            "source": poverty.source,
        },
        "flags": {
            "zone_focus": flags.zone_focus,
            "outside_zone_focus": flags.outside_zone_focus,
            "standard_award_eligible": flags.standard_award_eligible,
            "eco_industry_allowance_mu": flags.eco_industry_allowance_mu,
        },
        "totals": {
            "issued_kg": issued_kg,
            "verified_kg": verified_kg,
            "buffer_kg": sum(i.buffer_kg for i in issuances if i.kind != "reversal"),
            "reversed_kg": sum(i.buffer_kg for i in issuances if i.kind == "reversal"),
        },
        "issuances": [issuance_document(session, issuance) for issuance in issuances],
        "next_statuses": [status.value for status in next_statuses(ProjectStatus(project.status))],
        "created_at": project.created_at,
    }
    if may_see_private_details(project, principal):
        document["beneficiaries"] = [
            {"name": b.name, "kind": b.kind, "share_percent": b.share_percent}
            for b in session.scalars(
                select(ProjectBeneficiary)
                .where(ProjectBeneficiary.project_id == project.id)
                .order_by(ProjectBeneficiary.id)
            )
        ]
    return document


def issuance_document(session: Session, issuance: Issuance) -> dict[str, Any]:
    """An issuance with the serial ranges its ledger entry created (or, for a reversal, cancelled)."""
    ranges: list[dict[str, Any]] = []
    owner_account = None
    entry = None
    if issuance.ledger_seq is not None:
        entry = parse_body(proofs.entry(session, issuance.ledger_seq).body.encode("utf-8"))
    if entry is None:
        pass
    elif entry.kind == "issue":
        batch = entry.data["batch"]["id"]
        ranges = [
            {
                "account": a["account"],
                "batch": batch,
                "start": a["start"],
                "end": a["end"],
                "serial": a["serial"],
            }
            for a in entry.data["allocations"]
        ]
        owner_account = next(
            (a["account"] for a in entry.data["allocations"] if a["account"] != BUFFER), None
        )
    else:
        account = entry.data.get("account")
        ranges = [{"account": account, **item} for item in entry.data.get("ranges", [])]
    return {
        "id": issuance.id,
        "kind": issuance.kind,
        "project_id": issuance.project_id,
        "report_id": issuance.report_id,
        "batch_id": issuance.batch_id,
        "vintage": issuance.vintage,
        "owner_kg": issuance.owner_kg,
        "buffer_kg": issuance.buffer_kg,
        "buffer_percent": issuance.buffer_percent,
        "ledger_seq": issuance.ledger_seq,
        "serial_ranges": ranges,
        "owner_account": owner_account,
        "at": issuance.at,
    }


def event_document(event: ProjectEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "project_id": event.project_id,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor": event.actor,
        "role": event.role,
        "reason": event.reason,
        "at": event.at,
    }


def review_document(review: QualificationReview, project: Project) -> dict[str, Any]:
    return {
        "id": review.id,
        "project_id": review.project_id,
        "decision": review.decision,
        "reasons": review.reasons,
        "documents": review.documents,
        "capability": review.capability,
        "reviewer": review.reviewer,
        "at": review.at,
        "project_status": project.status,
    }


def report_summary(session: Session, report: MonitoringReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "project_id": report.project_id,
        "period_start": report.period_start,
        "period_end": report.period_end,
        "net_removals_kg": report.net_removals_kg,
        "status": report_status(session, report),
    }


def verification_document(session: Session, verification: Verification) -> dict[str, Any]:
    verifier = session.get(Organisation, verification.verifier_id)
    assert verifier is not None
    return {
        "id": verification.id,
        "report_id": verification.report_id,
        "verifier": {"id": verifier.id, "name": verifier.name},
        "decision": verification.decision,
        "verified_net_removals_kg": verification.verified_net_removals_kg,
        "comments": verification.comments,
        "at": verification.at,
    }


def report_document(session: Session, report: MonitoringReport) -> dict[str, Any]:
    """A monitoring report with the methodology's itemised calculation, its verifications and issuance."""
    project = session.get(Project, report.project_id)
    assert project is not None
    issuance = session.scalar(select(Issuance).where(Issuance.report_id == report.id))
    return {
        **report_summary(session, report),
        "project_code": project.code,
        "methodology": report.methodology,
        "inputs": report.inputs,
        "calculation": report.calculation,
        "submitted_by": report.submitted_by,
        "submitted_at": report.submitted_at,
        "verifications": [
            verification_document(session, verification)
            for verification in session.scalars(
                select(Verification).where(Verification.report_id == report.id).order_by(Verification.id)
            )
        ],
        "issuance": None if issuance is None else issuance_document(session, issuance),
    }
