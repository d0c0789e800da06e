"""Running a creating request in one unit of work, honouring ``Idempotency-Key``.

Every ``POST`` that creates something goes through :func:`run_creating`: it opens one unit of work, looks up
the caller's ``Idempotency-Key`` (keys are scoped per API key), runs the view's work, stores the response
with the key, the method, the path and a digest of the request body, and commits — the record and the
effects it stands for are committed together or not at all. A repeat with the same key and the same
request returns the stored response (``Idempotent-Replayed: true``) and changes nothing; the same key
with a different method, path or body is a 409 naming the field ``Idempotency-Key``.

Only successes are remembered. A refused request has written nothing, so retrying it with the same key
runs it again — which is what a client that fixed its input, or waited for a state to change, wants.
The body digest is over the parsed JSON with sorted keys, so that re-serialising the same request (key
order, whitespace) is still a repeat. Two concurrent requests with one key are serialised by the
database: on SQLite by the write lock every unit of work takes first; on PostgreSQL the unique constraint
makes the second one fail, its work is rolled back, and it answers with the first one's response.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from flask import Response, request
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal
from api.context import database
from api.models import IdempotencyRecord
from ledger.errors import LedgerError

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
KEY_PATTERN: Final = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as header values allow
DEFAULT_RETENTION_S: Final = 30 * 24 * 3600
"""How long a key is remembered (``TANHUI_IDEMPOTENCY_RETENTION_S``). Stripe keeps keys for 24 hours; a
registry's clients include enterprises that retry a failed batch job after a weekend or a holiday, so a
month. Ledger appends stay idempotent for ever on their own request ids, whatever is pruned here."""


class InvalidIdempotencyKey(LedgerError):
    code = "invalid-request"
    status = 400


class IdempotencyKeyReused(LedgerError):
    code = "idempotency-key-reused"
    status = 409


class ConcurrentChange(LedgerError):
    code = "concurrent-change"
    status = 409


@dataclass(frozen=True)
class Created:
    """What a creating view answers: the JSON body, its status and where the new thing can be read."""

    body: dict[str, Any]
    status: int = 201
    location: str | None = None


def _idempotency_key() -> str | None:
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not KEY_PATTERN.fullmatch(value):
        raise InvalidIdempotencyKey("an Idempotency-Key is 1 to 255 visible ASCII characters", field=HEADER)
    return value


def _request_digest() -> bytes:
    raw = request.get_data(cache=True)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        canonical = raw
    else:
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(
        request.method.encode() + b"\n" + request.path.encode() + b"\n" + canonical
    ).digest()


def _response(body: str, status: int, location: str | None, *, replayed: bool) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    if location:
        response.headers["Location"] = location
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def _replay(record: IdempotencyRecord, digest: bytes) -> Response:
    if (record.method, record.path, record.request_sha256) != (request.method, request.path, digest):
        raise IdempotencyKeyReused(
            f"this Idempotency-Key was used for a different request ({record.method} {record.path}) "
            "or a different body; use a new key for a new request",
            field=HEADER,
        )
    return _response(record.response_body, record.response_status, record.response_location, replayed=True)


def _stored(session: Session, principal: Principal, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == principal.key_id, IdempotencyRecord.idempotency_key == key
        )
    )


def _serialise_key(session: Session, principal: Principal, key: str) -> None:
    """Make requests that carry the same key run one after the other.

    A client that retries before its first attempt has answered sends both at once. Unserialised, the
    retry could look for a stored answer before the first commits and then find, say, the project code
    it means to register taken, answering 409 for a request that succeeded. On PostgreSQL a
    transaction-level advisory lock on the (API key, Idempotency-Key) pair makes it wait for the first
    and replay its answer; on SQLite every writing unit of work already holds the write lock
    (``BEGIN IMMEDIATE``). A collision of two pairs' lock ids only serialises them.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"idempotency\n{principal.key_id}\n{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": lock_id})


def run_creating(principal: Principal, work: Callable[[Session], Created]) -> Response:
    """Run ``work`` in one unit of work that commits only if it succeeds; remember its answer by key."""
    key = _idempotency_key()
    digest = _request_digest()
    try:
        with database().unit_of_work() as uow:
            if key is not None:
                _serialise_key(uow.session, principal, key)
                record = _stored(uow.session, principal, key)
                if record is not None:
                    return _replay(record, digest)
            created = work(uow.session)
            assert 200 <= created.status < 300, created
            body = json.dumps(created.body, ensure_ascii=False, separators=(",", ":"))
            if key is not None:
                uow.session.add(
                    IdempotencyRecord(
                        api_key_id=principal.key_id,
                        idempotency_key=key,
                        method=request.method,
                        path=request.path,
                        request_sha256=digest,
                        response_status=created.status,
                        response_body=body,
                        response_location=created.location,
                        created_at=datetime.now(UTC),
                    )
                )
                uow.session.flush()
            uow.commit()
    except IntegrityError as exc:
        # A concurrent request won a race for a unique value: the thing both meant to create. (Requests
        # with one key run one after the other, so this is never a race for the key itself.)
        raise ConcurrentChange(
            "a concurrent request changed the same records; nothing was written, read the state and retry"
        ) from exc
    return _response(body, created.status, created.location, replayed=False)


def prune_records(session: Session, *, now: datetime, retention_s: int = DEFAULT_RETENTION_S) -> int:
    """Forget the answers stored before ``now - retention_s``; returns how many were removed.

    A key used again after that is a new request. Run by the scheduler's daily job.
    """
    assert retention_s > 0, retention_s
    cutoff = now - timedelta(seconds=retention_s)
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
