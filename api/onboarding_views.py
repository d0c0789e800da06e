"""Onboarding existing projects from other registries: CSV import and export (``offsets.onboarding``).

Both endpoints are the registry's (role ``registry_admin``). The import takes the file as the request body
(``Content-Type: text/csv``) or as the one file of a ``multipart/form-data`` upload (field ``file``), runs in
one unit of work with ``Idempotency-Key`` support, and answers what it imported (201), or that the file
held nothing new (200). A refused file is a 400 ``application/problem+json`` whose ``errors`` list every
error with its row and column; nothing is written then. The CSV helpers here are shared with the reports'
upload of surveyed areas.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, request
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from api.auth import require_role
from api.blueprint import api_blueprint as bp
from api.context import database, ledger_service
from api.idempotency import Created, run_creating
from api.openapi import document
from api.problems import problem
from ledger.errors import LedgerError
from offsets.errors import InvalidInput
from offsets.lifecycle import Role
from offsets.onboarding import MAX_CSV_BYTES, CsvRefused, export_csv, import_csv

ADMIN = Role.REGISTRY_ADMIN
CSV_MEDIA_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/octet-stream"})
UPLOAD_FIELD = "file"


class UnsupportedMediaType(LedgerError):
    code = "unsupported-media-type"
    status = 415


class ImportedBatchSchema(Schema):
    external_registry = fields.String(required=True)
    external_batch_id = fields.String(required=True)
    project_code = fields.String(required=True)
    batch_id = fields.String(required=True, metadata={"description": "the ledger batch id"})
    ledger_seq = fields.Integer(required=True)
    owner_kg = fields.Integer(required=True)
    buffer_kg = fields.Integer(required=True)


class OnboardingImportSchema(Schema):
    projects_created = fields.List(fields.String(), required=True)
    projects_already_imported = fields.List(fields.String(), required=True)
    batches_imported = fields.List(fields.Nested(ImportedBatchSchema), required=True)
    batches_already_imported = fields.List(
        fields.String(), required=True, metadata={"description": "<registry>:<batch id>, nothing written"}
    )
    imported_kg = fields.Integer(required=True)


@bp.errorhandler(CsvRefused)
def csv_refused(error: CsvRefused) -> Response:
    """Every error of a refused file, with its row (1 is the header) and column."""
    errors = [
        {"row": item.row, "column": item.column, "field": item.column or "file", "message": item.message}
        for item in error.errors
    ]
    return problem(
        error.status,
        "Invalid CSV file",
        error.message,
        error.code,
        field=errors[0]["field"],
        errors=errors,
        errors_not_listed=error.more,
    )


def uploaded_csv() -> bytes:
    """The CSV file of the request: its body, or the one file of a multipart upload."""
    request.max_content_length = MAX_CSV_BYTES  # Flask 3.1: this request may exceed the API's 1 MiB
    # Read (and cache) the raw body first: multipart parsing then reads the cache, and the idempotency
    # digest covers the bytes actually sent rather than an empty stream.
    raw = request.get_data(cache=True)
    if request.mimetype == "multipart/form-data":
        files = request.files.getlist(UPLOAD_FIELD)
        if len(files) != 1:
            raise InvalidInput(
                f"upload exactly one file in the form field {UPLOAD_FIELD!r}", field=UPLOAD_FIELD
            )
        content: bytes = files[0].read()
        return content
    if request.mimetype not in CSV_MEDIA_TYPES:
        raise UnsupportedMediaType(
            "send the CSV file as the body (Content-Type: text/csv) or as a multipart/form-data upload "
            f"in the field {UPLOAD_FIELD!r}",
            field="Content-Type",
        )
    return raw


def csv_attachment(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="text/csv")  # werkzeug adds "; charset=utf-8" to text types
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.post("/onboarding/import")
@document(
    "Import projects and their issued batches from another registry (CSV body or multipart upload)",
    response="OnboardingImportSchema",
    status=201,
    roles=(ADMIN.value,),
    tag="onboarding",
)
def import_onboarding_file() -> Response:
    principal = require_role(ADMIN)
    data = uploaded_csv()

    def work(session: Session) -> Created:
        result = import_csv(session, ledger_service().sequencer, data, principal.actor)
        body: dict[str, Any] = OnboardingImportSchema().dump(result.as_dict())
        anything_new = bool(result.projects_created or result.batches_imported)
        return Created(body, status=201 if anything_new else 200)

    return run_creating(principal, work)


@bp.get("/onboarding/export")
@document(
    "Every imported project and batch, in the import's CSV format (UTF-8 with BOM)",
    media_type="text/csv",
    roles=(ADMIN.value,),
    tag="onboarding",
)
def export_onboarding_file() -> Response:
    require_role(ADMIN)
    with database().reading() as session:
        data = export_csv(session)
    today = datetime.now(UTC).date().isoformat()
    response = csv_attachment(data, f"tanhui-onboarding-{today}.csv")
    response.headers["Cache-Control"] = "no-store"
    return response
