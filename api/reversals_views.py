"""Lots' reversal status: the registry suspends and resumes a lot; anyone reads a lot's status history.

A lot is also suspended by the registry's reversal itself (``marketplace.reversals.record_compensation``,
run with the loss's issuance in api/monitoring_views.py). Each view is one unit of work around one
:mod:`marketplace.reversals` function; its errors become problems naming the field at fault.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from flask import Response, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from api.auth import require_role
from api.blueprint import api_blueprint as bp
from api.context import database
from api.idempotency import Created, run_creating
from api.openapi import document
from api.responses import json_response
from api.schemas_offsets import Strict, load_body
from marketplace import reversals
from marketplace.models import Lot
from marketplace.reversal_models import LotStatusChange
from offsets.lifecycle import Role

ADMIN = Role.REGISTRY_ADMIN


class LotStatusChangeCreateSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=reversals.MAX_REASON_CHARS))


class BufferCompensationSchema(Schema):
    id = fields.Integer()
    project_code = fields.String()
    report_id = fields.Integer(metadata={"description": "the monitoring report that found the loss"})
    monitoring_period = fields.String(metadata={"description": "start/end, ISO dates"})
    cancel_seq = fields.Integer(metadata={"description": "the ledger entry cancelling it from the buffer"})
    compensated_kg = fields.Integer()
    at = fields.String()
    batches = fields.List(
        fields.String(), metadata={"description": "the project's batches issued before the loss"}
    )


class LotStatusChangeSchema(Schema):
    position = fields.Integer()
    from_status = fields.String()
    to_status = fields.String()
    at = fields.String()
    actor = fields.String()
    reason = fields.String()
    compensation = fields.Nested(
        BufferCompensationSchema, allow_none=True, metadata={"description": "the buffer compensation, if any"}
    )


class LotStatusSchema(Schema):
    lot_id = fields.String()
    status = fields.String(metadata={"description": "listed or suspended"})
    change = fields.Nested(LotStatusChangeSchema, metadata={"description": "the change just recorded"})


class LotStatusHistorySchema(Schema):
    lot_id = fields.String()
    status = fields.String()
    changes = fields.List(fields.Nested(LotStatusChangeSchema))


@bp.post("/lots/<lot_id>/suspension")
@document(
    "Suspend a listed lot (new reservations and quotes refuse it; reservations already held may complete)",
    body="LotStatusChangeCreateSchema",
    response="LotStatusSchema",
    status=201,
    roles=(ADMIN.value,),
    tag="marketplace",
)
def suspend_lot(lot_id: str) -> Response:
    return _change_status(lot_id, reversals.suspend_lot)


@bp.post("/lots/<lot_id>/resumption")
@document(
    "List a suspended lot again; refused while its project is still in loss",
    body="LotStatusChangeCreateSchema",
    response="LotStatusSchema",
    status=201,
    roles=(ADMIN.value,),
    tag="marketplace",
)
def resume_lot(lot_id: str) -> Response:
    return _change_status(lot_id, reversals.resume_lot)


@bp.get("/lots/<lot_id>/status-history")
@document(
    "A lot's suspensions and resumptions: who, when, why, and the buffer compensation behind one",
    response="LotStatusHistorySchema",
    tag="marketplace",
)
def lot_status_history(lot_id: str) -> Response:
    with database().reading() as session:
        changes = reversals.status_history(session, lot_id)
        lot = session.get(Lot, lot_id)
        assert lot is not None
        return json_response({"lot_id": lot_id, "status": lot.status, "changes": changes})


class _StatusChanger(Protocol):
    def __call__(
        self, session: Session, lot_id: str, *, actor: str, reason: str, now: datetime
    ) -> LotStatusChange: ...


def _change_status(lot_id: str, change_status: _StatusChanger) -> Response:
    """The registry admin suspends or resumes the lot with ``change_status``, once per Idempotency-Key."""
    principal = require_role(ADMIN)
    body = load_body(LotStatusChangeCreateSchema())

    def work(session: Session) -> Created:
        change = change_status(
            session, lot_id, actor=principal.actor.name, reason=body["reason"], now=datetime.now(UTC)
        )
        return Created(
            {"lot_id": lot_id, "status": change.to_status, "change": reversals.change_json(change)},
            location=url_for("api.lot_status_history", lot_id=lot_id),
        )

    return run_creating(principal, work)
