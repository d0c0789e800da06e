"""Errors of the supply side. They share the ledger's error shape (code, HTTP status, offending field),
so that the API maps every domain refusal to ``application/problem+json`` in one place."""

from __future__ import annotations

from ledger.errors import LedgerError


class OffsetsError(LedgerError):
    code = "invalid-request"
    status = 422


class InvalidInput(OffsetsError):
    code = "invalid-input"
    status = 400


class NotFound(OffsetsError):
    code = "not-found"
    status = 404


class Forbidden(OffsetsError):
    """The actor's organisation or role may not do this (e.g. verify its own project)."""

    code = "forbidden"
    status = 403


class Conflict(OffsetsError):
    """The request contradicts the registry's state (already verified, overlapping period, over-issuance)."""

    code = "conflict"
    status = 409
