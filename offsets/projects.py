"""Sink projects: registration, owner qualification review (资格审查), the status lifecycle, and the
flags the provincial plan defines (zone focus, standard-registration award, carbon-forest eco-industry).

Functions take the caller's SQLAlchemy session (one unit of work) and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts import ensure_account
from offsets import regions
from offsets.actors import Actor
from offsets.errors import Conflict, Forbidden, InvalidInput, NotFound
from offsets.geo import validate_location
from offsets.lifecycle import ProjectStatus, Role, TransitionRefused, check_transition
from offsets.models import (
    ORGANISATION_KINDS,
    PROJECT_TYPES,
    Organisation,
    Project,
    ProjectBeneficiary,
    ProjectEvent,
    QualificationReview,
)

MAX_AREA_MU = Decimal(100_000_000)
"""Ten times the plan's whole 2025 target of 30 million mu: any larger area is a typing error."""
STANDARDS = ("provincial", "CCER", "VCS", "GS")
"""林草碳普惠 (provincial), and the national and international standards the plan's award names."""
NATIONAL_OR_INTERNATIONAL = frozenset({"CCER", "VCS", "GS"})
PROJECT_CODE = re.compile(r"[A-Z0-9]{2,16}")
CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_credit_code(code: str) -> str:
    """A 统一社会信用代码 with a valid check digit (GB 32100-2015 §4, weights 3^i mod 31)."""
    if not isinstance(code, str) or not CREDIT_CODE.fullmatch(code):
        raise InvalidInput(
            "a unified social credit code is 18 characters of digits and capitals", field="credit_code"
        )
    total = sum(
        CREDIT_CODE_ALPHABET.index(char) * weight
        for char, weight in zip(code, CREDIT_CODE_WEIGHTS, strict=False)
    )
    expected = CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]
    if code[-1] != expected:
        raise InvalidInput("the check digit of the unified social credit code is wrong", field="credit_code")
    return code


def owner_account_id(organisation_id: int) -> str:
    return f"ORG-{organisation_id:06d}"


def register_organisation(
    session: Session, name: str, kind: str, credit_code: str | None = None
) -> Organisation:
    """A new organisation; owners, enterprises and organisers get a ledger account."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("a name of 1 to 200 characters is required", field="name")
    if kind not in ORGANISATION_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ORGANISATION_KINDS)}", field="kind")
    if credit_code is not None:
        check_credit_code(credit_code)
        if session.scalar(select(Organisation.id).where(Organisation.credit_code == credit_code)) is not None:
            raise Conflict("an organisation with this credit code is registered already", field="credit_code")
    organisation = Organisation(name=name, kind=kind, credit_code=credit_code, created_at=datetime.now(UTC))
    session.add(organisation)
    session.flush()
    if kind in ("project_owner", "enterprise", "organiser"):
        account_type = {"project_owner": "owner", "enterprise": "enterprise", "organiser": "organiser"}[kind]
        organisation.ledger_account_id = ensure_account(
            session, owner_account_id(organisation.id), account_type, name
        ).id
        session.flush()
    return organisation


@dataclass(frozen=True)
class Beneficiary:
    name: str
    kind: str
    share_percent: Decimal


@dataclass(frozen=True)
class NewProject:
    code: str
    name: str
    project_type: str
    county_code: str
    area_mu: Decimal
    location: dict[str, Any]
    methodology: str
    crediting_start: date
    crediting_end: date
    expected_annual_removals_kg: int
    standard: str = "provincial"
    buffer_percent: int | None = None
    contiguous_carbon_forest_mu: Decimal | None = None
    beneficiaries: tuple[Beneficiary, ...] = field(default_factory=tuple)
    external_registry: str | None = None
    external_id: str | None = None


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, float | bool):
        raise InvalidInput("give a decimal number as text or an integer, not a float", field=field)
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError) as exc:
        raise InvalidInput("must be a decimal number", field=field) from exc
    if not number.is_finite():
        raise InvalidInput("must be a finite number", field=field)
    return number


def create_project(
    session: Session, command: NewProject, owner: Organisation, actor: Actor, buffer_percent_default: int
) -> Project:
    """Record a draft project of ``owner``; everything the plan and the registry require is checked."""
    _check_owner(session, command, owner, actor)
    county = _check_county(command.county_code)
    area = _decimal(command.area_mu, "area_mu")
    if not Decimal(0) < area <= MAX_AREA_MU or area != area.quantize(Decimal("0.01")):
        raise InvalidInput("area must be positive, at most 10^8 mu, in hundredths of a mu", field="area_mu")
    location = validate_location(command.location)
    check_methodology(command.methodology, command.project_type)
    _check_terms(command)
    buffer_percent = buffer_percent_default if command.buffer_percent is None else command.buffer_percent
    if not _is_int(buffer_percent) or not 0 <= buffer_percent <= 100:
        raise InvalidInput("buffer share is a whole percentage from 0 to 100", field="buffer_percent")
    contiguous = None
    if command.contiguous_carbon_forest_mu is not None:
        contiguous = _decimal(command.contiguous_carbon_forest_mu, "contiguous_carbon_forest_mu")
        if not Decimal(0) < contiguous <= area or contiguous != contiguous.quantize(Decimal("0.01")):
            raise InvalidInput(
                "contiguous carbon forest is positive, within the project area, in hundredths of a mu",
                field="contiguous_carbon_forest_mu",
            )
    check_beneficiaries(command.beneficiaries)
    project = Project(
        code=command.code,
        name=command.name.strip()[:200] or command.code,
        project_type=command.project_type,
        county_code=county.code,
        zone=regions.zone_of(county.code).key,
        area_mu=area,
        location=location,
        owner_id=owner.id,
        methodology=command.methodology,
        standard=command.standard,
        crediting_start=command.crediting_start,
        crediting_end=command.crediting_end,
        expected_annual_removals_kg=command.expected_annual_removals_kg,
        contiguous_carbon_forest_mu=contiguous,
        buffer_percent=buffer_percent,
        status=ProjectStatus.DRAFT.value,
        external_registry=command.external_registry,
        external_id=command.external_id,
        created_at=datetime.now(UTC),
    )
    session.add(project)
    session.flush()
    for beneficiary in command.beneficiaries:
        session.add(
            ProjectBeneficiary(
                project_id=project.id,
                name=beneficiary.name.strip(),
                kind=beneficiary.kind,
                share_percent=beneficiary.share_percent,
            )
        )
    session.add(
        ProjectEvent(
            project_id=project.id,
            from_status=None,
            to_status=project.status,
            actor=actor.name,
            role=actor.role.value,
            reason="registered as draft",
            at=datetime.now(UTC),
        )
    )
    session.flush()
    return project


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_owner(session: Session, command: NewProject, owner: Organisation, actor: Actor) -> None:
    if actor.role not in (Role.PROJECT_OWNER, Role.REGISTRY_ADMIN):
        raise Forbidden("only a project owner or the registry may register a project", field="role")
    if actor.role is Role.PROJECT_OWNER and actor.organisation_id != owner.id:
        raise Forbidden("a project owner registers projects for its own organisation", field="owner_id")
    if owner.kind != "project_owner":
        raise InvalidInput("the owner must be a project-owner organisation", field="owner_id")
    if not PROJECT_CODE.fullmatch(command.code or ""):
        raise InvalidInput("project codes are 2-16 capital letters or digits", field="code")
    if session.scalar(select(Project.id).where(Project.code == command.code)) is not None:
        raise Conflict(f"project code {command.code} is taken", field="code")
    if command.project_type not in PROJECT_TYPES:
        raise InvalidInput(f"project type must be one of {', '.join(PROJECT_TYPES)}", field="project_type")


def _check_county(code: str) -> regions.Division:
    try:
        county = regions.division(code)
    except regions.UnknownRegion as exc:
        raise InvalidInput(f"no county with code {code!r} in Sichuan", field="county_code") from exc
    if county.level != "county":
        raise InvalidInput("give a county-level division code, not a prefecture", field="county_code")
    return county


def _check_terms(command: NewProject) -> None:
    if command.standard not in STANDARDS:
        raise InvalidInput(f"standard must be one of {', '.join(STANDARDS)}", field="standard")
    if command.crediting_end <= command.crediting_start:
        raise InvalidInput("the crediting period must end after it starts", field="crediting_end")
    removals = command.expected_annual_removals_kg
    if not _is_int(removals) or not 0 <= removals <= 10**12:
        raise InvalidInput(
            "expected annual removals are 0 to 10^12 whole kilograms", field="expected_annual_removals_kg"
        )
    if (command.external_registry is None) != (command.external_id is None):
        raise InvalidInput(
            "give both the external registry and the external id, or neither", field="external_id"
        )


def check_methodology(methodology_id: str, project_type: str) -> None:
    from offsets import methodologies

    try:
        methodology = methodologies.get(methodology_id)
    except LookupError as exc:
        raise InvalidInput(f"unknown methodology {methodology_id!r}", field="methodology") from exc
    if project_type not in methodology.project_types:
        raise InvalidInput(f"{methodology_id} does not apply to {project_type} projects", field="methodology")


def check_beneficiaries(beneficiaries: tuple[Beneficiary, ...]) -> None:
    total = Decimal(0)
    for index, beneficiary in enumerate(beneficiaries):
        if not 1 <= len(beneficiary.name.strip()) <= 200:
            raise InvalidInput("a beneficiary needs a name", field=f"beneficiaries.{index}.name")
        if beneficiary.kind not in ("household", "collective"):
            raise InvalidInput("kind is household or collective", field=f"beneficiaries.{index}.kind")
        share = _decimal(beneficiary.share_percent, f"beneficiaries.{index}.share_percent")
        if not Decimal(0) < share <= Decimal(100) or share != share.quantize(Decimal("0.01")):
            raise InvalidInput("a share is 0.01 to 100 percent", field=f"beneficiaries.{index}.share_percent")
        total += share
    if total > 100:
        raise InvalidInput("the benefit shares add up to more than 100%", field="beneficiaries")


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project {project_id}", field="project_id")
    return project


def change_status(
    session: Session, project: Project, target: ProjectStatus, actor: Actor, reason: str = ""
) -> None:
    """Move ``project`` to ``target`` if the lifecycle allows this actor to; record who, when and why."""
    source = ProjectStatus(project.status)
    if actor.role is Role.PROJECT_OWNER and actor.organisation_id != project.owner_id:
        raise Forbidden("only the project's own owner may do this", field="project_id")
    try:
        check_transition(source, target, actor.role, reason)
    except TransitionRefused as exc:
        error = {"role": Forbidden, "reason": InvalidInput}.get(exc.kind, Conflict)
        raise error(exc.message, field=exc.field) from exc
    project.status = target.value
    session.add(
        ProjectEvent(
            project_id=project.id,
            from_status=source.value,
            to_status=target.value,
            actor=actor.name,
            role=actor.role.value,
            reason=reason.strip(),
            at=datetime.now(UTC),
        )
    )
    session.flush()


def review_qualification(
    session: Session,
    project: Project,
    actor: Actor,
    *,
    approved: bool,
    reasons: str,
    documents: list[dict[str, str]],
    capability: str,
) -> QualificationReview:
    """资格审查: record the decision on the owner's documents and capability, and register or reject."""
    if actor.role not in (Role.REVIEWER, Role.REGISTRY_ADMIN):
        raise Forbidden("only a reviewer decides a qualification review", field="role")
    if project.status != ProjectStatus.UNDER_REVIEW.value:
        raise Conflict("the project is not under review", field="status")
    if not reasons.strip():
        raise InvalidInput("a review decision states its reasons", field="reasons")
    for index, document in enumerate(documents):
        if not isinstance(document, dict) or not str(document.get("title", "")).strip():
            raise InvalidInput("each document has a title", field=f"documents.{index}.title")
    review = QualificationReview(
        project_id=project.id,
        documents=[
            {"title": str(d["title"]).strip(), "reference": str(d.get("reference", "")).strip()}
            for d in documents
        ],
        capability=capability.strip(),
        reviewer=actor.name,
        decision="approved" if approved else "rejected",
        reasons=reasons.strip(),
        at=datetime.now(UTC),
    )
    session.add(review)
    change_status(
        session, project, ProjectStatus.REGISTERED if approved else ProjectStatus.REJECTED, actor, reasons
    )
    return review


@dataclass(frozen=True)
class ProjectFlags:
    """What the provincial plan says about this project (四（二） and 二、发展布局)."""

    zone_focus: str | None
    outside_zone_focus: bool
    standard_award_eligible: bool
    eco_industry_allowance_mu: Decimal | None


def project_flags(project: Project) -> ProjectFlags:
    region_data = regions.regions()
    focus = region_data.zone_focus(project.zone, project.project_type)
    incentives = region_data.incentives
    allowance = None
    contiguous = project.contiguous_carbon_forest_mu
    if contiguous is not None and contiguous >= incentives.eco_industry_min_contiguous_mu:
        share = contiguous * Decimal(incentives.eco_industry_max_share_percent) / Decimal(100)
        allowance = min(share, Decimal(incentives.eco_industry_max_mu)).quantize(Decimal("0.01"))
    return ProjectFlags(
        zone_focus=focus,
        outside_zone_focus=focus is None,
        standard_award_eligible=project.standard in NATIONAL_OR_INTERNATIONAL
        and project.status
        in (ProjectStatus.REGISTERED.value, ProjectStatus.SUSPENDED.value, ProjectStatus.CLOSED.value),
        eco_industry_allowance_mu=allowance,
    )
