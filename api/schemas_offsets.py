"""Marshmallow schemas of the supply side's API: organisations, projects, reviews, monitoring, verification,
issuance, methodologies and regions — the requests it accepts and the documents it answers with.

Request schemas refuse unknown fields and check only shape and type; the rules (a county code that exists,
an area within bounds, a location inside Sichuan) are the domain's, which names the field at fault itself.
Quantities follow CONVENTIONS.md: kilograms are JSON integers (``12.0`` and ``"12"`` are refused), areas
and shares are decimal strings or integers — a float is refused, because ``0.1`` as a binary float is not
0.1 and the registry keeps the digits the surveyor wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from offsets.lifecycle import ProjectStatus
from offsets.models import ORGANISATION_KINDS, PROJECT_TYPES
from offsets.projects import STANDARDS
from offsets.regions import ZONE_KEYS

DECIMAL_TEXT = re.compile(r"-?(0|[1-9]\d{0,15})(\.\d{1,12})?")
MAX_TEXT_CHARS = 5000
MAX_DOCUMENTS = 100
MAX_BENEFICIARIES = 1000
MAX_PER_PAGE = 100
OWNER_AND_REGISTRY = "the project's owning organisation and the registry's staff"
"""``x-only-for`` (an OpenAPI extension) of a response field that everyone else gets without: who may see
a project's private details (``api.presenters.may_see_private_details``)."""


class DecimalText(fields.Field[Decimal]):
    """An exact decimal given as a string (``"1234.50"``) or an integer; floats and booleans are refused."""

    default_error_messages = {  # noqa: RUF012  (marshmallow's own class attribute)
        "float": 'give a decimal number as text (e.g. "12.5") or an integer, not a float',
        "invalid": 'must be a decimal number as text (e.g. "12.5") or an integer',
    }

    def _deserialize(
        self,
        value: Any,
        attr: str | None,  # noqa: ARG002  (marshmallow's signature)
        data: Mapping[str, Any] | None,  # noqa: ARG002
        **kwargs: Any,  # noqa: ARG002
    ) -> Decimal:
        if isinstance(value, float):
            raise self.make_error("float")
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, str) and DECIMAL_TEXT.fullmatch(value):
            return Decimal(value)
        raise self.make_error("invalid")

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:  # noqa: ARG002
        if value is None:
            return None
        return format(Decimal(value), "f")


class UtcDateTime(fields.DateTime):
    """A moment in RFC 3339 with its UTC offset. The registry stores UTC; SQLite hands it back naive."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | float | None:
        if isinstance(value, datetime):
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class Kilograms(fields.Integer):
    """Whole kilograms CO2e as a JSON integer: no floats, no strings, no booleans."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=-(10**15), max=10**15))
        super().__init__(strict=True, **kwargs)


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` only (marshmallow's Boolean would take 1, "yes" and "on")."""

    def _deserialize(
        self,
        value: Any,
        attr: str | None,  # noqa: ARG002  (marshmallow's signature)
        data: Mapping[str, Any] | None,  # noqa: ARG002
        **kwargs: Any,  # noqa: ARG002
    ) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _text(*, required: bool = False, max_chars: int = MAX_TEXT_CHARS, **kwargs: Any) -> fields.String:
    if not required:
        kwargs.setdefault("load_default", "")
    return fields.String(required=required, validate=validate.Length(max=max_chars), **kwargs)


class Strict(Schema):
    class Meta:
        unknown = RAISE


# --- organisations ---------------------------------------------------------------------------------------


class OrganisationCreateSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    credit_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=18))


class OrganisationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    credit_code = fields.String(allow_none=True, metadata={"description": "统一社会信用代码 (GB 32100-2015)"})
    ledger_account_id = fields.String(allow_none=True)
    created_at = UtcDateTime()


# --- projects -------------------------------------------------------------------------------------------


class BeneficiaryInputSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(("household", "collective")))
    share_percent = DecimalText(required=True)


class ProjectCreateSchema(Strict):
    owner_id = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "the owner organisation; the caller's own by default (admins name it)"},
    )
    code = fields.String(required=True, metadata={"description": "2-16 capitals or digits; used in serials"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    project_type = fields.String(required=True, validate=validate.OneOf(PROJECT_TYPES))
    county_code = fields.String(required=True, metadata={"description": "6-digit county-level division code"})
    area_mu = DecimalText(required=True, metadata={"description": 'area in mu (亩), e.g. "1250.50"'})
    location = fields.Dict(required=True, metadata={"description": "GeoJSON Point or Polygon in Sichuan"})
    methodology = fields.String(required=True, validate=validate.Length(min=1, max=32))
    crediting_start = fields.Date(required=True)
    crediting_end = fields.Date(required=True)
    expected_annual_removals_kg = Kilograms(required=True)
    standard = fields.String(load_default="provincial", validate=validate.OneOf(STANDARDS))
    buffer_percent = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "non-permanence buffer share; by default the registry's for the type"},
    )
    contiguous_carbon_forest_mu = DecimalText(load_default=None, allow_none=True)
    beneficiaries = fields.List(
        fields.Nested(BeneficiaryInputSchema),
        load_default=list,
        validate=validate.Length(max=MAX_BENEFICIARIES),
    )
    external_registry = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    external_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class ProjectListQuery(Strict):
    zone = fields.String(validate=validate.OneOf(ZONE_KEYS))
    county_code = fields.String(validate=validate.Regexp(r"^51\d{4}$", error="a 6-digit Sichuan code"))
    project_type = fields.String(validate=validate.OneOf(PROJECT_TYPES))
    status = fields.String(validate=validate.OneOf([status.value for status in ProjectStatus]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10**6))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class OwnerSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class ProjectSummarySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    project_type = fields.String()
    project_type_zh = fields.String()
    status = fields.String()
    zone = fields.String()
    county_code = fields.String()
    county = fields.String()
    prefecture = fields.String()
    area_mu = DecimalText(metadata={"description": "scale in mu (亩), a decimal string"})
    standard = fields.String()
    owner = fields.Nested(OwnerSchema)


class ProjectPageSchema(Schema):
    items = fields.List(fields.Nested(ProjectSummarySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class FlagsSchema(Schema):
    zone_focus = fields.String(
        allow_none=True, metadata={"description": "priority, moderate or exploratory in the zone's plan"}
    )
    outside_zone_focus = fields.Boolean()
    standard_award_eligible = fields.Boolean()
    eco_industry_allowance_mu = DecimalText(allow_none=True)


class TotalsSchema(Schema):
    issued_kg = fields.Integer(metadata={"description": "issued (owner and buffer) less reversals"})
    verified_kg = fields.Integer(metadata={"description": "verified net removals, losses included"})
    buffer_kg = fields.Integer(metadata={"description": "credited to the buffer pool at issuance"})
    reversed_kg = fields.Integer(metadata={"description": "cancelled from the buffer pool for losses"})


class PovertyCountySchema(Schema):
    category = fields.String(metadata={"description": "national or provincial 贫困县"})
    deep_poverty = fields.Boolean(allow_none=True)
    exit_year = fields.Integer(allow_none=True)
    exit_document = fields.String()
    source = fields.String()


class LedgerRangeSchema(Schema):
    """A serial range as a ledger entry states it."""

    batch = fields.String(metadata={"description": "PROJECT-YYYY-NNN"})
    start = fields.Integer(metadata={"description": "first kilogram of the range in its batch's block"})
    end = fields.Integer(metadata={"description": "last kilogram of the range (inclusive)"})
    serial = fields.String(metadata={"description": "SC-<batch>-<start>-<end>"})


class SerialRangeSchema(LedgerRangeSchema):
    account = fields.String()


class IssuanceSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "issue, reversal or import"})
    project_id = fields.Integer()
    report_id = fields.Integer(allow_none=True)
    batch_id = fields.String(allow_none=True)
    vintage = fields.String()
    owner_kg = fields.Integer()
    buffer_kg = fields.Integer(metadata={"description": "to the buffer pool (for a reversal: cancelled)"})
    buffer_percent = fields.Integer()
    ledger_seq = fields.Integer()
    serial_ranges = fields.List(fields.Nested(SerialRangeSchema))
    owner_account = fields.String(allow_none=True)
    at = UtcDateTime()


class BeneficiarySchema(Schema):
    name = fields.String()
    kind = fields.String()
    share_percent = DecimalText()


class ProjectSchema(ProjectSummarySchema):
    location = fields.Dict()
    methodology = fields.String()
    crediting_start = fields.Date()
    crediting_end = fields.Date()
    expected_annual_removals_kg = fields.Integer()
    contiguous_carbon_forest_mu = DecimalText(allow_none=True)
    buffer_percent = fields.Integer()
    external_registry = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    poverty_county = fields.Nested(PovertyCountySchema, allow_none=True)
    flags = fields.Nested(FlagsSchema)
    totals = fields.Nested(TotalsSchema)
    issuances = fields.List(fields.Nested(IssuanceSchema))
    next_statuses = fields.List(fields.String())
    beneficiaries = fields.List(
        fields.Nested(BeneficiarySchema),
        metadata={"description": f"only to {OWNER_AND_REGISTRY}", "x-only-for": OWNER_AND_REGISTRY},
    )
    created_at = UtcDateTime()


class TransitionCreateSchema(Strict):
    to = fields.String(required=True, validate=validate.OneOf([status.value for status in ProjectStatus]))
    reason = _text()


class ProjectEventSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor = fields.String()
    role = fields.String()
    reason = fields.String()
    at = UtcDateTime()


class DocumentSchema(Strict):
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    reference = fields.String(load_default="", validate=validate.Length(max=500))


class QualificationReviewCreateSchema(Strict):
    approved = StrictBoolean(required=True)
    reasons = _text(required=True)
    documents = fields.List(
        fields.Nested(DocumentSchema), load_default=list, validate=validate.Length(max=MAX_DOCUMENTS)
    )
    capability = _text()


class QualificationReviewSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    decision = fields.String()
    reasons = fields.String()
    documents = fields.List(fields.Dict())
    capability = fields.String()
    reviewer = fields.String()
    at = UtcDateTime()
    project_status = fields.String()


class ProjectEventsSchema(Schema):
    project_id = fields.Integer()
    events = fields.List(fields.Nested(ProjectEventSchema))
    qualification_reviews = fields.List(
        fields.Nested(QualificationReviewSchema),
        metadata={"description": f"only to {OWNER_AND_REGISTRY}", "x-only-for": OWNER_AND_REGISTRY},
    )


# --- monitoring, verification, issuance ------------------------------------------------------------------


class MonitoringReportCreateSchema(Strict):
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    inputs = fields.Dict(
        required=True, metadata={"description": "the methodology's inputs: GET /methodologies/{id}"}
    )


class VerificationCreateSchema(Strict):
    verified = StrictBoolean(required=True)
    comments = _text(required=True)
    verified_net_removals_kg = Kilograms(load_default=None, allow_none=True)


class VerificationSchema(Schema):
    id = fields.Integer()
    report_id = fields.Integer()
    verifier = fields.Nested(OwnerSchema)
    decision = fields.String()
    verified_net_removals_kg = fields.Integer(allow_none=True)
    comments = fields.String()
    at = UtcDateTime()


class MonitoringReportSummarySchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    period_start = fields.Date()
    period_end = fields.Date()
    net_removals_kg = fields.Integer()
    status = fields.String(metadata={"description": "submitted, verified or returned"})


class MonitoringReportSchema(MonitoringReportSummarySchema):
    project_code = fields.String()
    methodology = fields.String()
    inputs = fields.Dict()
    calculation = fields.Dict(metadata={"description": "the itemised breakdown: terms, formulas, parameters"})
    submitted_by = fields.String()
    submitted_at = UtcDateTime()
    verifications = fields.List(fields.Nested(VerificationSchema))
    issuance = fields.Nested(IssuanceSchema, allow_none=True)


class MonitoringReportListSchema(Schema):
    project_id = fields.Integer()
    items = fields.List(fields.Nested(MonitoringReportSummarySchema))


# --- methodologies --------------------------------------------------------------------------------------


class MethodologySummarySchema(Schema):
    id = fields.String()
    title_zh = fields.String()
    title_en = fields.String()
    project_types = fields.List(fields.String())
    source = fields.String()


class MethodologyListSchema(Schema):
    items = fields.List(fields.Nested(MethodologySummarySchema))


class ConsultedRuleSchema(Schema):
    rules_of = fields.String(metadata={"description": "the methodology or tool whose rules were consulted"})
    name = fields.String()
    found = fields.Boolean(metadata={"description": "whether the rule was found in a source that was read"})
    citation = fields.String(metadata={"description": "where the rule was read (empty if not found)"})
    note = fields.String(metadata={"description": "what the research noted of this rule, e.g. not found"})
    methodology_note = fields.String(metadata={"description": "what the research noted of the whole text"})


class LeakageRuleSchema(Schema):
    applied = fields.String(
        metadata={
            "description": "fixed: a cited rule fixes leakage (value_t_co2e) and it is not an input; "
            "stated_in_report: no rule was found, so the monitoring report states it",
            "enum": ["fixed", "stated_in_report"],
        }
    )
    rule_of = fields.String(allow_none=True)
    value_t_co2e = fields.String(allow_none=True)
    consulted = fields.List(fields.Nested(ConsultedRuleSchema))


class UncertaintyRuleSchema(Schema):
    applied = fields.String(
        metadata={
            "description": "the form of the deduction applied: a discount table (CDM AR-TOOL14 form), an "
            "allowable excess (VM0033 form), or none where no rule was found (nothing is deducted)",
            "enum": ["discount_table", "allowable_excess", "none"],
        }
    )
    rule_of = fields.String(allow_none=True, metadata={"description": "whose rule is applied, if any"})
    consulted = fields.List(
        fields.Nested(ConsultedRuleSchema),
        metadata={"description": "the rule tables looked in, in order; the first found one is applied"},
    )


class RuleSourcesSchema(Schema):
    leakage = fields.Nested(LeakageRuleSchema)
    uncertainty = fields.Nested(UncertaintyRuleSchema)


class MethodologySchema(MethodologySummarySchema):
    rules = fields.Nested(
        RuleSourcesSchema,
        metadata={
            "description": "the cited rules the calculation applies for leakage and the uncertainty "
            "deduction, and every rule table consulted for them, found or not"
        },
    )
    inputs = fields.Dict(
        metadata={
            "description": "the calculation inputs of a monitoring report (and of the dry run) as a JSON "
            "Schema, draft 2020-12, with each decimal's unit and plausibility limits"
        }
    )


class CalculateSchema(Strict):
    inputs = fields.Dict(required=True)


class CalculationSchema(Schema):
    methodology = fields.String()
    period_years = fields.String()
    net_removals_t = fields.String()
    net_removals_kg = fields.Integer()
    terms = fields.List(fields.Dict())


# --- regions --------------------------------------------------------------------------------------------


class ZoneSchema(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    prefecture_codes = fields.List(fields.String())
    priority_types = fields.List(fields.String())
    moderate_types = fields.List(fields.String())
    exploratory_types = fields.List(fields.String())
    source = fields.String()


class ZoneListSchema(Schema):
    items = fields.List(fields.Nested(ZoneSchema))
    project_types = fields.Dict(keys=fields.String(), values=fields.String())


class CountiesQuery(Strict):
    prefecture = fields.String(
        validate=validate.Regexp(r"^51\d{2}00$", error="a prefecture's 6-digit code, ending in 00")
    )


class CountyPovertySchema(PovertyCountySchema):
    source_year = fields.Integer()
    note = fields.String()


class CountySchema(Schema):
    code = fields.String()
    name = fields.String()
    prefecture_code = fields.String()
    prefecture = fields.String()
    zone = fields.String()
    source = fields.String()
    poverty = fields.Nested(CountyPovertySchema, allow_none=True)


class CountyListSchema(Schema):
    items = fields.List(fields.Nested(CountySchema))


def load_query(schema: Schema, args: Any) -> dict[str, Any]:
    """Load query parameters; a parameter given twice is refused rather than silently taking the first."""
    repeated = [key for key in args if len(args.getlist(key)) > 1]
    if repeated:
        raise ValidationError({repeated[0]: ["give this parameter once"]})
    result: dict[str, Any] = schema.load(args.to_dict())
    return result


def load_body(schema: Schema) -> dict[str, Any]:
    """The request's JSON object, loaded by ``schema``; anything else is a 400 naming the field ``body``."""
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        raise ValidationError({"body": ["send a JSON object with Content-Type: application/json"]})
    result: dict[str, Any] = schema.load(data)
    return result


def dump(schema: Schema, value: Any) -> dict[str, Any]:
    """``schema.dump(value)``, typed as the JSON object it is."""
    result: dict[str, Any] = schema.dump(value)
    return result
