"""The plan's reports (``offsets.reports``): progress against the targets and the potential assessment.

Progress and the potential assessment are public, in JSON; the assessment is also a CSV download. The
registry (role ``registry_admin``) uploads surveyed available areas as CSV, like the onboarding import.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from api.auth import require_role
from api.blueprint import api_blueprint as bp
from api.context import database
from api.idempotency import Created, run_creating
from api.onboarding_views import csv_attachment, uploaded_csv
from api.openapi import document
from offsets import reports
from offsets.lifecycle import Role

ADMIN = Role.REGISTRY_ADMIN
PUBLIC_CACHE = "public, max-age=60"

_PERCENT = fields.Dict(
    keys=fields.String(),
    values=fields.String(),
    required=True,
    metadata={"description": "per target year: percent of the target, 4 places, rounded down"},
)


class ProgressLineSchema(Schema):
    projects = fields.Integer(required=True)
    area_mu = fields.String(required=True, metadata={"description": "exact decimal, two places"})
    percent_of_target = _PERCENT


class ZoneProgressSchema(ProgressLineSchema):
    zone = fields.String(required=True)
    name_zh = fields.String(required=True)


class TypeProgressSchema(ProgressLineSchema):
    project_type = fields.String(required=True)
    name_zh = fields.String(required=True)


class TargetSchema(Schema):
    area_mu = fields.Integer(required=True, metadata={"description": "the plan's target area, in mu"})


class TargetsSchema(Schema):
    by_2022 = fields.Nested(TargetSchema, required=True, data_key="2022", attribute="2022")
    by_2025 = fields.Nested(TargetSchema, required=True, data_key="2025", attribute="2025")
    source = fields.String(required=True, metadata={"description": "where the targets are stated"})


class ProgressReportSchema(Schema):
    as_of = fields.String(required=True)
    counted_statuses = fields.List(fields.String(), required=True)
    targets = fields.Nested(TargetsSchema, required=True, metadata={"description": "the plan's targets"})
    total = fields.Nested(ProgressLineSchema, required=True)
    by_zone = fields.List(fields.Nested(ZoneProgressSchema), required=True)
    by_type = fields.List(fields.Nested(TypeProgressSchema), required=True)


class PotentialRowSchema(Schema):
    zone = fields.String(required=True)
    prefecture = fields.String(required=True)
    county_code = fields.String(required=True)
    county = fields.String(required=True)
    project_type = fields.String(required=True)
    project_type_zh = fields.String(required=True)
    zone_focus = fields.String(allow_none=True, metadata={"description": "priority, moderate, exploratory"})
    survey_status = fields.String(required=True, metadata={"description": "surveyed, or not surveyed"})
    available_area_mu = fields.String(allow_none=True, metadata={"description": "null when not surveyed"})
    survey_year = fields.Integer(allow_none=True)
    survey_source = fields.String(allow_none=True)
    registered_projects = fields.Integer(required=True)
    registered_area_mu = fields.String(required=True)
    registered_percent_of_available = fields.String(allow_none=True)
    issued_kg = fields.Integer(required=True)
    retired_kg = fields.Integer(required=True)


class PotentialZoneSchema(Schema):
    zone = fields.String(required=True)
    name_zh = fields.String(required=True)
    surveyed_available_area_mu = fields.String(
        required=True, metadata={"description": "sum over surveyed county/type pairs only"}
    )
    surveyed_pairs = fields.Integer(required=True)
    not_surveyed_pairs = fields.Integer(required=True)
    registered_projects = fields.Integer(required=True)
    registered_area_mu = fields.String(required=True)
    issued_kg = fields.Integer(required=True)
    retired_kg = fields.Integer(required=True)


class PotentialReportSchema(Schema):
    as_of = fields.String(required=True)
    counted_statuses = fields.List(fields.String(), required=True)
    zones = fields.List(fields.Nested(PotentialZoneSchema), required=True)
    rows = fields.List(fields.Nested(PotentialRowSchema), required=True)


class PotentialAreasImportSchema(Schema):
    recorded = fields.Integer(required=True)
    unchanged = fields.Integer(required=True, metadata={"description": "rows equal to the recorded figure"})


@bp.get("/reports/progress")
@document(
    "Registered project area against the plan's 2022 and 2025 targets, in total, by zone and by type",
    response="ProgressReportSchema",
    tag="reports",
)
def progress_report() -> tuple[dict[str, Any], int, dict[str, str]]:
    with database().reading() as session:
        report = reports.progress(session)
    return ProgressReportSchema().dump(report.as_dict()), 200, {"Cache-Control": PUBLIC_CACHE}


@bp.get("/reports/potential")
@document(
    "Potential assessment (潜力评价) by zone, county, type: area available, registered; kg issued, retired",
    response="PotentialReportSchema",
    tag="reports",
)
def potential_report() -> tuple[dict[str, Any], int, dict[str, str]]:
    with database().reading() as session:
        report = reports.potential(session)
    return PotentialReportSchema().dump(report.as_dict()), 200, {"Cache-Control": PUBLIC_CACHE}


@bp.get("/reports/potential.csv")
@document(
    "The potential assessment as a CSV download (text/csv, UTF-8 with BOM, one row per county and type)",
    media_type="text/csv",
    tag="reports",
)
def potential_report_csv() -> Response:
    with database().reading() as session:
        report = reports.potential(session)
    response = csv_attachment(report.to_csv(), f"tanhui-potential-{report.as_of.isoformat()}.csv")
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return response


@bp.post("/reports/potential-areas")
@document(
    "Record surveyed available areas per county and project type (CSV body or multipart upload)",
    response="PotentialAreasImportSchema",
    status=201,
    roles=(ADMIN.value,),
    tag="reports",
)
def upload_potential_areas() -> Response:
    principal = require_role(ADMIN)
    data = uploaded_csv()

    def work(session: Session) -> Created:
        result = reports.import_potential_areas(session, data, principal.actor)
        body: dict[str, Any] = PotentialAreasImportSchema().dump(result.as_dict())
        return Created(body, status=201 if result.recorded else 200)

    return run_creating(principal, work)
