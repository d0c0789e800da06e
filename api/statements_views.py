"""An organisation's own ledger account: its statement, and its retirements for a compliance period.

``GET /organisations/<id>/statement`` (the organisation's keys or the registry): holdings by batch with
serial ranges, project and vintage, and the history of ledger entries that touched the account, optionally
for a date range (``?from=YYYY-MM-DD&to=YYYY-MM-DD``, UTC, inclusive). The same statement as a
spreadsheet-safe CSV is ``GET /organisations/<id>/statement.csv`` (api/exports_views.py, written with the
one CSV writer, marketplace/csv_export.py).

``POST /organisations/<id>/retirements`` (the enterprise's own ``enterprise_buyer`` key, with an
``Idempotency-Key``, which is required here: a retirement cannot be undone, so a client must be able to
retry it safely): a compliance retirement and its certificate (marketplace.compliance).

Any other organisation's key gets a 404 on both, so that it cannot even learn whose accounts exist.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Response, request, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from api.auth import require_key
from api.blueprint import api_blueprint as bp
from api.context import database, ledger_service
from api.idempotency import HEADER, Created, InvalidIdempotencyKey, run_creating
from api.openapi import document
from api.orders_views import ENTERPRISE_BUYER
from api.quotes_views import READER_ROLES, require_buyer_key, require_own_organisation
from api.responses import json_response
from api.schemas_offsets import Kilograms, LedgerRangeSchema, Strict, load_body
from ledger.entries import parse_body
from ledger.models import Entry
from ledger.ranges import SerialRange
from marketplace import compliance, statements
from offsets.errors import InvalidInput

MAX_BATCHES = 1000


class StatementQuerySchema(Strict):
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)


class RetirementRangeSchema(Strict):
    batch = fields.String(required=True, validate=validate.Length(min=1, max=40))
    start = Kilograms(required=True, validate=validate.Range(min=1, max=10**12))
    end = Kilograms(required=True, validate=validate.Range(min=1, max=10**12))


class ComplianceRetirementCreateSchema(Strict):
    compliance_period = fields.String(
        required=True,
        validate=validate.Length(min=1, max=compliance.MAX_PERIOD_CHARS),
        metadata={"description": "e.g. 2025 年度履约 / compliance year 2025"},
    )
    quantity_kg = Kilograms(load_default=None, validate=validate.Range(min=1, max=10**12))
    batches = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        load_default=list,
        validate=validate.Length(max=MAX_BATCHES),
    )
    ranges = fields.List(
        fields.Nested(RetirementRangeSchema), load_default=list, validate=validate.Length(max=1000)
    )


class ComplianceRetirementSchema(Schema):
    certificate_id = fields.String()
    organisation_id = fields.Integer()
    seq = fields.Integer()
    compliance_period = fields.String()
    quantity_kg = fields.Integer()
    ranges = fields.List(
        fields.Nested(LedgerRangeSchema), metadata={"description": "as in the ledger's retire entry"}
    )


class StatementOrganisationSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class StatementPeriodSchema(Schema):
    from_ = fields.Date(data_key="from", allow_none=True, metadata={"description": "UTC date, inclusive"})
    to = fields.Date(allow_none=True, metadata={"description": "UTC date, inclusive"})


class HeldRangeSchema(Schema):
    start = fields.Integer(metadata={"description": "first kilogram of the batch's serial block held"})
    end = fields.Integer(metadata={"description": "last kilogram held (end - start + 1 = quantity_kg)"})
    serial = fields.String(metadata={"description": "SC-<batch>-<start>-<end>"})
    quantity_kg = fields.Integer()


class HeldBatchSchema(Schema):
    batch_id = fields.String()
    project_code = fields.String()
    project_name = fields.String(allow_none=True)
    vintage = fields.String()
    quantity_kg = fields.Integer()
    ranges = fields.List(fields.Nested(HeldRangeSchema))


class StatementLineSchema(Schema):
    seq = fields.Integer(metadata={"description": "the ledger entry"})
    time = fields.String()
    movement = fields.String(
        validate=validate.OneOf(statements.MOVEMENTS),
        metadata={"description": "how the entry moved kilograms to or from the account"},
    )
    quantity_kg = fields.Integer()
    serials = fields.List(fields.String())
    counterparty = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    details = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)
    certificate_id = fields.String(allow_none=True)


class StatementSchema(Schema):
    organisation = fields.Nested(StatementOrganisationSchema)
    account = fields.String(allow_none=True)
    period = fields.Nested(StatementPeriodSchema)
    held_kg = fields.Integer()
    holdings = fields.List(fields.Nested(HeldBatchSchema))
    history = fields.List(fields.Nested(StatementLineSchema))
    history_complete = fields.Boolean(
        metadata={
            "description": f"false if the history stops at {statements.MAX_HISTORY_ENTRIES} entries; "
            "ask for a shorter period"
        }
    )
    totals_kg = fields.Dict(
        keys=fields.String(validate=validate.OneOf(statements.MOVEMENTS)),
        values=fields.Integer(),
        metadata={"description": "kilograms per movement over the history shown (movements that occurred)"},
    )


@bp.get("/organisations/<id:organisation_id>/statement")
@document(
    "An organisation's statement: holdings by batch with serial ranges, and the ledger entries that touched "
    "its account (?from=&to= dates, UTC)",
    response="StatementSchema",
    query="StatementQuerySchema",
    roles=READER_ROLES,
    tag="marketplace",
)
def get_statement(organisation_id: int) -> Response:
    principal = require_key()
    require_own_organisation(principal, organisation_id, registry_too=True)
    query = StatementQuerySchema().load(request.args.to_dict())
    with database().reading() as session:
        result = statements.statement(session, organisation_id, since=query["from_"], until=query["to"])
    return json_response(statement_document(result), 200)


@bp.post("/organisations/<id:organisation_id>/retirements")
@document(
    "Retire kilograms the enterprise holds for a named compliance period (履约); an Idempotency-Key is "
    "required and is part of the ledger request id. Answers with the certificate's id",
    body="ComplianceRetirementCreateSchema",
    response="ComplianceRetirementSchema",
    status=201,
    roles=(ENTERPRISE_BUYER,),
    tag="marketplace",
)
def retire_for_compliance(organisation_id: int) -> Response:
    principal = require_buyer_key(ENTERPRISE_BUYER)
    require_own_organisation(principal, organisation_id, registry_too=False)
    key = request.headers.get(HEADER)
    if key is None:
        raise InvalidIdempotencyKey(
            "a retirement cannot be undone: send an Idempotency-Key so that a retry cannot retire twice",
            field=HEADER,
        )
    body = load_body(ComplianceRetirementCreateSchema())
    retirement = compliance.ComplianceRetirement(
        compliance_period=body["compliance_period"],
        quantity_kg=body["quantity_kg"],
        batches=tuple(body["batches"]),
        ranges=tuple(SerialRange(item["batch"], item["start"], item["end"]) for item in body["ranges"]),
    )
    if retirement.ranges and any(item.end < item.start for item in retirement.ranges):
        raise InvalidInput("a range ends before it starts", field="ranges")
    sequencer = ledger_service().sequencer

    def work(session: Session) -> Created:
        certificate = compliance.retire_for_compliance(
            session,
            sequencer,
            organisation_id=organisation_id,
            request=retirement,
            request_key=key,
            now=datetime.now(UTC),
        )
        entry_body = session.get(Entry, certificate.seq)
        assert entry_body is not None
        data = parse_body(entry_body.body.encode("utf-8")).data
        return Created(
            {
                "certificate_id": certificate.id,
                "organisation_id": organisation_id,
                "seq": certificate.seq,
                "compliance_period": data["details"],
                "quantity_kg": data["quantity_kg"],
                "ranges": data["ranges"],
            },
            location=url_for("api.get_certificate", certificate_id=certificate.id),
        )

    return run_creating(principal, work)


def statement_document(result: statements.Statement) -> dict[str, Any]:
    return {
        "organisation": {"id": result.organisation_id, "name": result.organisation_name},
        "account": result.account,
        "period": {"from": _iso(result.since), "to": _iso(result.until)},
        "held_kg": result.held_kg,
        "holdings": [
            {
                "batch_id": batch.batch_id,
                "project_code": batch.project_code,
                "project_name": batch.project_name,
                "vintage": batch.vintage,
                "quantity_kg": batch.quantity_kg,
                "ranges": [
                    {
                        "start": item.start,
                        "end": item.end,
                        "serial": item.serial,
                        "quantity_kg": item.quantity_kg,
                    }
                    for item in batch.ranges
                ],
            }
            for batch in result.holdings
        ],
        "history": [
            {
                "seq": line.seq,
                "time": line.time,
                "movement": line.movement,
                "quantity_kg": line.quantity_kg,
                "serials": list(line.serials),
                "counterparty": line.counterparty,
                "reason": line.reason,
                "details": line.details,
                "order_id": line.order_id,
                "certificate_id": line.certificate_id,
            }
            for line in result.history
        ],
        "history_complete": result.history_complete,
        "totals_kg": result.totals_kg,
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
