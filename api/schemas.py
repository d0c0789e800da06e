"""Marshmallow schemas for the ledger's public read API (query parameters and responses)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ledger import limits

MAX_TREE_SIZE = 2**53
DEFAULT_PAGE_ENTRIES = 256


class InclusionQuery(Schema):
    class Meta:
        unknown = RAISE

    seq = fields.Integer(required=True, strict=False, validate=validate.Range(min=0, max=MAX_TREE_SIZE))
    size = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=MAX_TREE_SIZE))

    @validates_schema
    def _seq_inside(self, data: dict[str, Any], **_: Any) -> None:
        if data["seq"] >= data["size"]:
            raise ValidationError("seq must be less than size", field_name="seq")


class ConsistencyQuery(Schema):
    class Meta:
        unknown = RAISE

    from_ = fields.Integer(
        required=True,
        data_key="from",
        validate=validate.Range(min=1, max=MAX_TREE_SIZE, error="must be at least 1"),
    )
    to = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_TREE_SIZE))

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data["from_"] > data["to"]:
            raise ValidationError("from must not exceed to", field_name="from")


class EntrySchema(Schema):
    seq = fields.Integer(required=True)
    body = fields.String(required=True, metadata={"description": "the exact RFC 8785 body text"})
    leaf_hash = fields.String(required=True, metadata={"description": "SHA-256(0x00 || body), lowercase hex"})


class EntryPageQuery(Schema):
    class Meta:
        unknown = RAISE

    start = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_TREE_SIZE))
    limit = fields.Integer(
        load_default=DEFAULT_PAGE_ENTRIES, validate=validate.Range(min=1, max=limits.MAX_PAGE_ENTRIES)
    )


class EntryPageSchema(Schema):
    start = fields.Integer(required=True)
    entries = fields.List(fields.Nested(EntrySchema), required=True)
    next = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "where the following page starts; null when this page ends at the newest entry"
        },
    )


class CosignerSchema(Schema):
    name = fields.String(required=True)
    timestamp = fields.Integer(required=True, metadata={"description": "POSIX time of the cosignature"})


class CosignedSchema(Schema):
    checkpoint_size = fields.Integer(required=True)
    cosigned_by = fields.List(fields.Nested(CosignerSchema), required=True)


class HealthLedgerSchema(Schema):
    size = fields.Integer(required=True)
    checkpoint_size = fields.Integer(required=True, allow_none=True)
    checkpoint_signed_at = fields.String(required=True, allow_none=True)
    oldest_unsigned_entry_at = fields.String(required=True, allow_none=True)


class HealthVerificationSchema(Schema):
    finished_at = fields.String(required=True)
    tree_size = fields.Integer(required=True)
    ok = fields.Boolean(required=True)
    failed_seq = fields.Integer(required=True, allow_none=True)
    failure = fields.String(required=True, allow_none=True)


class HealthReplicaSchema(Schema):
    reachable = fields.Boolean(required=True)
    size = fields.Integer(required=True, allow_none=True, metadata={"description": "the ledger's size there"})
    behind_entries = fields.Integer(required=True, allow_none=True)
    replay_lag_s = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "seconds since the replica last replayed a transaction"},
    )


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok, or attention"})
    attention = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": (
                "checkpoint_behind, never_verified, verification_stale, verification_failed, "
                "witness_push_failed, replica_unreachable, replica_behind"
            )
        },
    )
    time = fields.String(required=True)
    database = fields.String(required=True)
    ledger = fields.Nested(HealthLedgerSchema, required=True)
    replica = fields.Nested(
        HealthReplicaSchema,
        required=True,
        allow_none=True,
        metadata={"description": "the read replica (DATABASE_REPLICA_URL), or null when there is none"},
    )
    verification = fields.Nested(HealthVerificationSchema, required=True, allow_none=True)


class InclusionProofSchema(Schema):
    seq = fields.Integer(required=True)
    size = fields.Integer(required=True)
    hashes = fields.List(fields.String(), required=True)


class ConsistencyProofSchema(Schema):
    from_ = fields.Integer(required=True, data_key="from")
    to = fields.Integer(required=True)
    hashes = fields.List(fields.String(), required=True)


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    field = fields.String()
    errors = fields.List(fields.Dict())
