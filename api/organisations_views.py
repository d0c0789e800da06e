"""Organisations: the registry registers participants (owners, verifiers, buyers); anyone may look one up."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, url_for
from marshmallow import fields, validate
from sqlalchemy.orm import Session

from api.affiliations_views import AffiliationCreateSchema, affiliation_command
from api.auth import require_role
from api.blueprint import api_blueprint as bp
from api.context import database
from api.idempotency import Created, run_creating
from api.openapi import document
from api.presenters import organisation_document
from api.schemas_offsets import OrganisationCreateSchema, OrganisationSchema, dump, load_body
from offsets.affiliations import record_affiliation
from offsets.errors import NotFound
from offsets.lifecycle import Role
from offsets.models import Organisation
from offsets.projects import register_organisation

MAX_DECLARED_AFFILIATIONS = 50


class OrganisationRegistrationSchema(OrganisationCreateSchema):
    affiliations = fields.List(
        fields.Nested(AffiliationCreateSchema),
        load_default=list,
        validate=validate.Length(max=MAX_DECLARED_AFFILIATIONS),
        metadata={"description": "affiliations the organisation declares when it registers (optional)"},
    )


@bp.post("/organisations")
@document(
    "Register an organisation (owners, enterprises and organisers get a ledger account)",
    body="OrganisationRegistrationSchema",
    response="OrganisationSchema",
    status=201,
    roles=(Role.REGISTRY_ADMIN.value,),
    tag="organisations",
)
def create_organisation() -> Response:
    principal = require_role(Role.REGISTRY_ADMIN)
    command = load_body(OrganisationRegistrationSchema())
    now = datetime.now(UTC)

    def work(session: Session) -> Created:
        organisation = register_organisation(
            session, command["name"], command["kind"], command["credit_code"]
        )
        for declared in command["affiliations"]:
            record_affiliation(
                session, affiliation_command(organisation.id, declared), principal.actor, now=now
            )
        return Created(
            dump(OrganisationSchema(), organisation_document(organisation)),
            location=url_for("api.get_organisation", organisation_id=organisation.id),
        )

    return run_creating(principal, work)


@bp.get("/organisations/<id:organisation_id>")
@document("One organisation", response="OrganisationSchema", tag="organisations")
def get_organisation(organisation_id: int) -> dict[str, object]:
    with database().reading() as session:
        organisation = session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound(f"no organisation {organisation_id}", field="organisation_id")
        return dump(OrganisationSchema(), organisation_document(organisation))
