"""The ledger's exceptions: what a caller did wrong, said once, with the offending field.

Every error a request can provoke is a :class:`LedgerError` carrying a stable ``code`` (used as the
problem type by the API), a human message, and the name of the input field at fault, so that the edges
can map it to ``application/problem+json`` or a one-line CLI message without guessing.
"""

from __future__ import annotations


class LedgerError(Exception):
    """A request the ledger refuses; nothing has been written."""

    code = "ledger-error"
    status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidCommand(LedgerError):
    """The command is malformed: a bad quantity, range, identifier, text or size."""

    code = "invalid-command"


class UnknownAccount(LedgerError):
    code = "unknown-account"
    status = 404


class UnknownBatch(LedgerError):
    code = "unknown-batch"
    status = 404


class DuplicateBatch(LedgerError):
    code = "duplicate-batch"
    status = 409


class InsufficientHolding(LedgerError):
    """The account does not hold enough unretired kilograms for the quantity asked."""

    code = "insufficient-holding"
    status = 409


class RangeNotHeld(LedgerError):
    """A serial range named in the command is not (wholly) held by the account."""

    code = "range-not-held"
    status = 409


class IdempotencyConflict(LedgerError):
    """A request id was reused for a different command."""

    code = "idempotency-conflict"
    status = 409


class EntryTooLarge(InvalidCommand):
    code = "entry-too-large"
    status = 413


class NotFound(LedgerError):
    """A read asked for something the ledger does not have (an entry, a checkpoint, a proof size)."""

    code = "not-found"
    status = 404


class ProofUnavailable(LedgerError):
    """A proof was asked for sizes that no signed checkpoint covers, or that make no sense."""

    code = "proof-unavailable"
    status = 400


class CosignatureRefused(LedgerError):
    """A cosignature the registry will not serve: not of its checkpoint, not by a listed witness, or
    not valid."""

    code = "cosignature-refused"
    status = 422
