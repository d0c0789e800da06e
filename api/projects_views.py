"""Sink projects: registration, the public list and page, lifecycle transitions, qualification review, events.

Each view parses, authenticates, runs one unit of work around one ``offsets.projects`` function and dumps.
The role checks here only answer early and precisely (403 naming ``role``); the domain functions decide.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.auth import Principal, optional_principal, require_role
from api.blueprint import api_blueprint as bp
from api.context import database
from api.idempotency import Created, run_creating
from api.openapi import document
from api.presenters import (
    event_document,
    may_see_private_details,
    project_document,
    project_summary,
    review_document,
    visible_project,
)
from api.schemas_offsets import (
    ProjectCreateSchema,
    ProjectEventSchema,
    ProjectEventsSchema,
    ProjectListQuery,
    ProjectPageSchema,
    ProjectSchema,
    QualificationReviewCreateSchema,
    QualificationReviewSchema,
    TransitionCreateSchema,
    dump,
    load_body,
    load_query,
)
from ledger.replica_reads import read_published
from offsets.buffer_policy import default_buffer_percent
from offsets.errors import Forbidden, InvalidInput, NotFound
from offsets.lifecycle import TRANSITIONS, ProjectStatus, Role
from offsets.models import Organisation, Project, ProjectEvent, QualificationReview
from offsets.projects import Beneficiary, NewProject, change_status, create_project, review_qualification

OWNER, REVIEWER, ADMIN = Role.PROJECT_OWNER, Role.REVIEWER, Role.REGISTRY_ADMIN


def actionable_project(session: Session, project_id: int, principal: Principal) -> Project:
    """The project, if the caller may act on it: 404 if it may not see it, 403 if it is another's."""
    project = visible_project(session, project_id, principal)
    if principal.role == OWNER.value and not principal.owns(project.owner_id):
        raise Forbidden("a project owner acts only on its own organisation's projects", field="project_id")
    return project


@bp.post("/projects")
@document(
    "Register a draft project (an owner for itself; the registry for any owner)",
    body="ProjectCreateSchema",
    response="ProjectSchema",
    status=201,
    roles=(OWNER.value, ADMIN.value),
    tag="projects",
)
def create_project_view() -> Response:
    principal = require_role(OWNER, ADMIN)
    command = load_body(ProjectCreateSchema())

    def work(session: Session) -> Created:
        owner_id = command["owner_id"]
        if owner_id is None:
            if principal.role != OWNER.value:
                raise InvalidInput("the registry names the owner organisation", field="owner_id")
            owner_id = principal.organisation_id
        if principal.role == OWNER.value and owner_id != principal.organisation_id:
            raise Forbidden("a project owner registers projects for its own organisation", field="owner_id")
        owner = session.get(Organisation, owner_id)
        if owner is None:
            raise NotFound(f"no organisation {owner_id}", field="owner_id")
        project = create_project(
            session,
            _new_project(command),
            owner,
            principal.actor,
            default_buffer_percent(command["project_type"]),
        )
        return Created(
            dump(ProjectSchema(), project_document(session, project, principal)),
            location=url_for("api.get_project", project_id=project.id),
        )

    return run_creating(principal, work)


def _new_project(command: dict[str, Any]) -> NewProject:
    return NewProject(
        code=command["code"],
        name=command["name"],
        project_type=command["project_type"],
        county_code=command["county_code"],
        area_mu=command["area_mu"],
        location=command["location"],
        methodology=command["methodology"],
        crediting_start=command["crediting_start"],
        crediting_end=command["crediting_end"],
        expected_annual_removals_kg=command["expected_annual_removals_kg"],
        standard=command["standard"],
        buffer_percent=command["buffer_percent"],
        contiguous_carbon_forest_mu=command["contiguous_carbon_forest_mu"],
        beneficiaries=tuple(
            Beneficiary(name=b["name"], kind=b["kind"], share_percent=b["share_percent"])
            for b in command["beneficiaries"]
        ),
        external_registry=command["external_registry"],
        external_id=command["external_id"],
    )


@bp.get("/projects")
@document(
    "Projects, filtered by zone, county, type and status, a page at a time (drafts only to their owner)",
    query="ProjectListQuery",
    response="ProjectPageSchema",
    optional_auth=True,
    tag="projects",
)
def list_projects() -> dict[str, Any]:
    query = load_query(ProjectListQuery(), request.args)
    principal = optional_principal()
    statement = select(Project, Organisation).join(Organisation, Organisation.id == Project.owner_id)
    for name in ("zone", "county_code", "project_type", "status"):
        if name in query:
            statement = statement.where(getattr(Project, name) == query[name])
    if principal is None or not principal.is_registry:
        visible = Project.status != ProjectStatus.DRAFT.value
        if principal is not None and principal.role == OWNER.value:
            visible = or_(visible, Project.owner_id == principal.organisation_id)
        statement = statement.where(visible)
    page, per_page = query["page"], query["per_page"]

    def read(session: Session) -> tuple[int, list[dict[str, Any]]]:
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = session.execute(statement.order_by(Project.id).offset((page - 1) * per_page).limit(per_page))
        return total, [project_summary(project, owner) for project, owner in rows]

    # The public registry may be a moment old on the read replica; one's own drafts and reviews may not.
    if principal is None:
        total, items = read_published(database(), read)
    else:
        with database().reading() as session:
            total, items = read(session)
    return dump(ProjectPageSchema(), {"items": items, "page": page, "per_page": per_page, "total": total})


@bp.get("/projects/<id:project_id>")
@document(
    "A project's public page: type, scale, status, place, plan flags, verified and issued totals",
    response="ProjectSchema",
    optional_auth=True,
    tag="projects",
)
def get_project(project_id: int) -> dict[str, Any]:
    principal = optional_principal()

    def read(session: Session) -> dict[str, Any]:
        project = visible_project(session, project_id, principal)
        return dump(ProjectSchema(), project_document(session, project, principal))

    if principal is None:  # a project the replica does not hold yet is read on the primary
        return read_published(database(), read, absent=(NotFound,))
    with database().reading() as session:
        return read(session)


def _refuse_early(project: Project, target: ProjectStatus, principal: Principal, reason: str) -> None:
    """Answer a wrong role with 403 and a missing reason with 400 before the lifecycle's 409."""
    source = ProjectStatus(project.status)
    transition = next((t for t in TRANSITIONS if (t.source, t.target) == (source, target)), None)
    if transition is None:
        return  # the lifecycle refuses it with 409, naming what the project can become
    if principal.actor.role not in transition.roles:
        allowed = " or ".join(sorted(role.value for role in transition.roles))
        raise Forbidden(
            f"a {principal.role} may not move a project from {source.value} to {target.value}; "
            f"a {allowed} may",
            field="role",
        )
    if transition.reason_required and not reason.strip():
        raise InvalidInput(f"moving a project to {target.value} needs a reason", field="reason")


@bp.post("/projects/<id:project_id>/transitions")
@document(
    "Move a project through its lifecycle (draft → submitted → under_review → registered, …)",
    body="TransitionCreateSchema",
    response="ProjectEventSchema",
    status=201,
    roles=(OWNER.value, REVIEWER.value, ADMIN.value),
    tag="projects",
)
def transition_project(project_id: int) -> Response:
    principal = require_role(OWNER, REVIEWER, ADMIN)
    command = load_body(TransitionCreateSchema())

    def work(session: Session) -> Created:
        project = actionable_project(session, project_id, principal)
        target = ProjectStatus(command["to"])
        _refuse_early(project, target, principal, command["reason"])
        change_status(session, project, target, principal.actor, command["reason"])
        event = session.scalar(
            select(ProjectEvent).where(ProjectEvent.project_id == project.id).order_by(ProjectEvent.id.desc())
        )
        assert event is not None
        assert event.to_status == target.value
        return Created(
            dump(ProjectEventSchema(), event_document(event)),
            location=url_for("api.get_project_events", project_id=project.id),
        )

    return run_creating(principal, work)


@bp.post("/projects/<id:project_id>/qualification-review")
@document(
    "Decide the owner's qualification review (资格审查): registers or rejects a project under review",
    body="QualificationReviewCreateSchema",
    response="QualificationReviewSchema",
    status=201,
    roles=(REVIEWER.value, ADMIN.value),
    tag="projects",
)
def review_project(project_id: int) -> Response:
    principal = require_role(REVIEWER, ADMIN)
    command = load_body(QualificationReviewCreateSchema())

    def work(session: Session) -> Created:
        project = actionable_project(session, project_id, principal)
        review = review_qualification(
            session,
            project,
            principal.actor,
            approved=command["approved"],
            reasons=command["reasons"],
            documents=command["documents"],
            capability=command["capability"],
        )
        return Created(
            dump(QualificationReviewSchema(), review_document(review, project)),
            location=url_for("api.get_project_events", project_id=project.id),
        )

    return run_creating(principal, work)


@bp.get("/projects/<id:project_id>/events")
@document(
    "A project's status history (and, to its owner and the registry, its qualification reviews)",
    response="ProjectEventsSchema",
    optional_auth=True,
    tag="projects",
)
def get_project_events(project_id: int) -> dict[str, Any]:
    principal = optional_principal()
    with database().reading() as session:
        project = visible_project(session, project_id, principal)
        events = session.scalars(
            select(ProjectEvent).where(ProjectEvent.project_id == project.id).order_by(ProjectEvent.id)
        )
        body: dict[str, Any] = {"project_id": project.id, "events": [event_document(e) for e in events]}
        if may_see_private_details(project, principal):
            reviews = session.scalars(
                select(QualificationReview)
                .where(QualificationReview.project_id == project.id)
                .order_by(QualificationReview.id)
            )
            body["qualification_reviews"] = [review_document(review, project) for review in reviews]
        return dump(ProjectEventsSchema(), body)
