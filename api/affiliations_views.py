"""Affiliations between organisations: the registry records and ends them; verification is refused on them.

``POST /organisations/<id>/affiliations`` records that an organisation is affiliated with another (one
group, one legal representative, or consulting on a project of the other) and ``POST
/affiliations/<id>/end`` ends one — or withdraws it as recorded in error — both by a registry admin's key
and honouring ``Idempotency-Key``. The registry's keys read every organisation's affiliations; an
organisation's own keys read its own. Another key gets a 403 naming ``organisation_id`` for a list
(which organisations exist is public, what binds them is not) and a 404 for one affiliation, as if it did
not exist. The rule they feed is offsets/affiliations.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from api.auth import ROLE_ORGANISATION_KINDS, Principal, require_key, require_role
from api.blueprint import MAX_ROW_ID
from api.blueprint import api_blueprint as bp
from api.context import database
from api.idempotency import Created, run_creating
from api.openapi import document
from api.responses import json_response
from api.schemas_offsets import Strict, StrictBoolean, UtcDateTime, dump, load_body
from offsets.affiliations import (
    MAX_REASON_CHARS,
    MAX_SOURCE_CHARS,
    NewAffiliation,
    affiliation_status,
    affiliations_of,
    end_affiliation,
    ending_of,
    get_affiliation,
    record_affiliation,
)
from offsets.errors import Forbidden, NotFound
from offsets.lifecycle import Role
from offsets.models import AFFILIATION_KINDS, AffiliationEnding, Organisation, OrganisationAffiliation

ADMIN = Role.REGISTRY_ADMIN
READER_ROLES = tuple(ROLE_ORGANISATION_KINDS)
"""Any key may ask; the view then lets the registry and the organisation's own keys through."""


def _row_id(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ROW_ID), **kwargs)


class AffiliationCreateSchema(Strict):
    other_organisation_id = _row_id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(AFFILIATION_KINDS))
    project_id = _row_id(
        load_default=None, allow_none=True, metadata={"description": "for consulting_on_project only"}
    )
    parent_organisation_id = _row_id(
        load_default=None,
        allow_none=True,
        metadata={"description": "for parent_subsidiary only: which of the two is the parent"},
    )
    valid_from = fields.AwareDateTime(required=True, metadata={"description": "RFC 3339 with offset"})
    valid_to = fields.AwareDateTime(
        load_default=None, allow_none=True, metadata={"description": "an end known now (a contract's term)"}
    )
    source = fields.String(required=True, validate=validate.Length(min=1, max=MAX_SOURCE_CHARS))


class AffiliationEndCreateSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON_CHARS))
    ended_at = fields.AwareDateTime(
        load_default=None, allow_none=True, metadata={"description": "default: now; never in the future"}
    )
    recorded_in_error = StrictBoolean(
        load_default=False, metadata={"description": "withdraw: the affiliation never held"}
    )


class AffiliationEndingSchema(Schema):
    ended_at = UtcDateTime()
    recorded_in_error = fields.Boolean()
    reason = fields.String()
    recorded_by = fields.String()
    recorded_at = UtcDateTime()


class AffiliatedOrganisationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()


class AffiliationSchema(Schema):
    id = fields.Integer()
    organisations = fields.List(
        fields.Nested(AffiliatedOrganisationSchema), metadata={"description": "the pair, smaller id first"}
    )
    kind = fields.String()
    parent_organisation_id = fields.Integer(allow_none=True)
    project_id = fields.Integer(allow_none=True)
    valid_from = UtcDateTime()
    valid_to = UtcDateTime(allow_none=True)
    source = fields.String()
    recorded_by = fields.String()
    recorded_at = UtcDateTime()
    status = fields.String(metadata={"description": "active, pending, expired, ended or withdrawn"})
    ending = fields.Nested(AffiliationEndingSchema, allow_none=True)


class AffiliationListSchema(Schema):
    organisation_id = fields.Integer()
    items = fields.List(fields.Nested(AffiliationSchema))


def affiliation_document(
    session: Session, affiliation: OrganisationAffiliation, ending: AffiliationEnding | None
) -> dict[str, Any]:
    """An affiliation as the API shows it, with its two organisations, its ending and its status now."""
    return dump(AffiliationSchema(), _affiliation(session, affiliation, ending))


def _affiliation(
    session: Session, affiliation: OrganisationAffiliation, ending: AffiliationEnding | None
) -> dict[str, Any]:
    organisations = []
    for organisation_id in (affiliation.organisation_a_id, affiliation.organisation_b_id):
        organisation = session.get(Organisation, organisation_id)
        assert organisation is not None
        organisations.append({"id": organisation.id, "name": organisation.name, "kind": organisation.kind})
    document = {
        "id": affiliation.id,
        "organisations": organisations,
        "kind": affiliation.kind,
        "parent_organisation_id": affiliation.parent_organisation_id,
        "project_id": affiliation.project_id,
        "valid_from": affiliation.valid_from,
        "valid_to": affiliation.valid_to,
        "source": affiliation.source,
        "recorded_by": affiliation.recorded_by,
        "recorded_at": affiliation.recorded_at,
        "status": affiliation_status(affiliation, ending, datetime.now(UTC)),
        "ending": None,
    }
    if ending is not None:
        document["ending"] = {
            "ended_at": ending.ended_at,
            "recorded_in_error": ending.recorded_in_error,
            "reason": ending.reason,
            "recorded_by": ending.recorded_by,
            "recorded_at": ending.recorded_at,
        }
    return document


def affiliation_command(organisation_id: int, body: dict[str, Any]) -> NewAffiliation:
    """The domain's command from a loaded :class:`AffiliationCreateSchema` body (also for declarations
    made when an organisation registers)."""
    return NewAffiliation(organisation_id=organisation_id, **body)


def _may_read(principal: Principal, organisation_ids: tuple[int, ...]) -> bool:
    return principal.is_registry or principal.organisation_id in organisation_ids


@bp.post("/organisations/<id:organisation_id>/affiliations")
@document(
    "Record an affiliation of this organisation with another (group, legal representative, or consulting "
    "on a project), which bars verification between them",
    body="AffiliationCreateSchema",
    response="AffiliationSchema",
    status=201,
    roles=(ADMIN.value,),
    tag="organisations",
)
def create_affiliation(organisation_id: int) -> Response:
    principal = require_role(ADMIN)
    body = load_body(AffiliationCreateSchema())
    now = datetime.now(UTC)

    def work(session: Session) -> Created:
        if session.get(Organisation, organisation_id) is None:
            raise NotFound(f"no organisation {organisation_id}", field="organisation_id")
        affiliation = record_affiliation(
            session, affiliation_command(organisation_id, body), principal.actor, now=now
        )
        return Created(
            affiliation_document(session, affiliation, None),
            location=url_for("api.get_affiliation_record", affiliation_id=affiliation.id),
        )

    return run_creating(principal, work)


@bp.post("/affiliations/<id:affiliation_id>/end")
@document(
    "End an affiliation from ended_at (default now), or withdraw it as recorded in error",
    body="AffiliationEndCreateSchema",
    response="AffiliationSchema",
    status=201,
    roles=(ADMIN.value,),
    tag="organisations",
)
def end_affiliation_record(affiliation_id: int) -> Response:
    principal = require_role(ADMIN)
    body = load_body(AffiliationEndCreateSchema())
    now = datetime.now(UTC)

    def work(session: Session) -> Created:
        affiliation = get_affiliation(session, affiliation_id)
        ending = end_affiliation(
            session,
            affiliation,
            principal.actor,
            reason=body["reason"],
            now=now,
            ended_at=body["ended_at"],
            recorded_in_error=body["recorded_in_error"],
        )
        return Created(
            affiliation_document(session, affiliation, ending),
            location=url_for("api.get_affiliation_record", affiliation_id=affiliation.id),
        )

    return run_creating(principal, work)


@bp.get("/affiliations/<id:affiliation_id>")
@document(
    "One affiliation: the registry's keys, and the keys of the two organisations",
    response="AffiliationSchema",
    roles=READER_ROLES,
    tag="organisations",
)
def get_affiliation_record(affiliation_id: int) -> Response:
    principal = require_key()
    with database().reading() as session:
        affiliation = session.get(OrganisationAffiliation, affiliation_id)
        pair = () if affiliation is None else (affiliation.organisation_a_id, affiliation.organisation_b_id)
        if affiliation is None or not _may_read(principal, pair):
            raise NotFound(f"no affiliation {affiliation_id}", field="affiliation_id")
        return json_response(affiliation_document(session, affiliation, ending_of(session, affiliation)))


@bp.get("/organisations/<id:organisation_id>/affiliations")
@document(
    "An organisation's affiliations, ended ones included: the registry's keys and the organisation's own",
    response="AffiliationListSchema",
    roles=READER_ROLES,
    tag="organisations",
)
def list_affiliations(organisation_id: int) -> Response:
    principal = require_key()
    if not _may_read(principal, (organisation_id,)):
        raise Forbidden(
            "an organisation's affiliations are shown to the registry and to its own keys",
            field="organisation_id",
        )
    with database().reading() as session:
        if session.get(Organisation, organisation_id) is None:
            raise NotFound(f"no organisation {organisation_id}", field="organisation_id")
        items = [
            _affiliation(session, affiliation, ending)
            for affiliation, ending in affiliations_of(session, organisation_id)
        ]
        return json_response(
            dump(AffiliationListSchema(), {"organisation_id": organisation_id, "items": items})
        )
