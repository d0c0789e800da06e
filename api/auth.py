"""Who is calling: API keys, the role each carries, and the :class:`~offsets.actors.Actor` a view acts as.

Authentication is ``Authorization: Bearer thk_<prefix>_<secret>``. The prefix (8 lowercase letters and
digits) is public and finds the key; the secret is 256 random bits (``secrets.token_urlsafe(32)``) of which
only the SHA-256 digest is stored, compared in constant time. A slow password hash would add nothing for
secrets this long: they cannot be guessed, only stolen, and a stolen digest does not give the secret back.

Authorisation is by role, not by scopes: every key carries exactly one role of one organisation, and the
role is what the supply-side rules (``offsets.lifecycle``, ``offsets.monitoring``, ``offsets.issuance``)
are written in. A view names the roles it serves and gets a 403 naming the field ``role`` for any other;
the domain functions then check again, and add what a role cannot express (a project owner acts only on
its own organisation's projects; a verifier never verifies its own). Keeping one vocabulary means an
endpoint cannot drift from the rule it fronts. The roles are listed in :data:`ROLE_ORGANISATION_KINDS`
with the organisation kinds that may hold them; the table keeps the role as plain text, so the
marketplace's roles (enterprise_buyer, event_organiser, individual) are one line here, not a migration.

A missing, malformed, unknown or revoked key is a 401 ``application/problem+json`` with
``WWW-Authenticate: Bearer`` (RFC 6750 §3). ``last_used_at`` is written at most once a minute per key,
so that reading the portal does not turn every request into a write.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from flask import g, request
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.context import database
from api.models import ApiKey
from ledger.errors import LedgerError
from ledger.orm import as_utc
from offsets.actors import Actor
from offsets.errors import Conflict, Forbidden, InvalidInput, NotFound
from offsets.lifecycle import Role
from offsets.models import Organisation

KEY_PREFIX: Final = "thk"
PREFIX_CHARS: Final = 8
PREFIX_ALPHABET: Final = string.ascii_lowercase + string.digits
SECRET_BYTES: Final = 32  # 256 bits
KEY_PATTERN: Final = re.compile(r"thk_([a-z0-9]{8})_([A-Za-z0-9_-]{43})")
MAX_KEY_NAME_CHARS: Final = 100
LAST_USED_RESOLUTION: Final = timedelta(seconds=60)

ROLE_ORGANISATION_KINDS: Final[dict[str, frozenset[str]]] = {
    Role.REGISTRY_ADMIN.value: frozenset({"registry"}),
    Role.REVIEWER.value: frozenset({"registry"}),
    Role.VERIFIER.value: frozenset({"verifier"}),
    Role.PROJECT_OWNER.value: frozenset({"project_owner"}),
    # The marketplace's buyers (orders, api/orders_views.py); individuals order without a key.
    "enterprise_buyer": frozenset({"enterprise"}),
    "event_organiser": frozenset({"organiser"}),
}
"""Each role a key may carry, and the kinds of organisation that may hold a key in it."""

REGISTRY_ROLES: Final = frozenset({Role.REGISTRY_ADMIN.value, Role.REVIEWER.value})
"""The registry's own staff: they see drafts, unverified reports and beneficiaries' names."""


class Unauthorized(LedgerError):
    """No usable API key: missing, malformed, unknown or revoked."""

    code = "unauthorized"
    status = 401


@dataclass(frozen=True)
class Principal:
    """An authenticated API key: whose it is and in which role it acts."""

    key_id: int
    prefix: str
    key_name: str
    role: str
    organisation_id: int
    organisation_name: str

    @property
    def actor(self) -> Actor:
        """The supply side's view of the caller; the name ties audit records to the key."""
        return Actor(
            name=f"{self.organisation_name} / {self.key_name} ({self.prefix})"[:200],
            role=Role(self.role),
            organisation_id=self.organisation_id,
        )

    @property
    def is_registry(self) -> bool:
        return self.role in REGISTRY_ROLES

    def owns(self, organisation_id: int) -> bool:
        return self.role == Role.PROJECT_OWNER.value and self.organisation_id == organisation_id


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


# --- issuing and revoking keys (the CLI's commands; plain functions on a caller's session) -----------


def create_api_key(session: Session, organisation_id: int, role: str, name: str) -> tuple[ApiKey, str]:
    """A new key for ``organisation_id`` in ``role``; returns the row and the full key, shown only once."""
    if role not in ROLE_ORGANISATION_KINDS:
        raise InvalidInput(f"role must be one of {', '.join(ROLE_ORGANISATION_KINDS)}", field="role")
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_KEY_NAME_CHARS:
        raise InvalidInput(f"a key name of 1 to {MAX_KEY_NAME_CHARS} characters is required", field="name")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"no organisation {organisation_id}", field="organisation_id")
    if organisation.kind not in ROLE_ORGANISATION_KINDS[role]:
        kinds = ", ".join(sorted(ROLE_ORGANISATION_KINDS[role]))
        raise InvalidInput(
            f"a {role} key belongs to an organisation of kind {kinds}; {organisation.name} is a "
            f"{organisation.kind}",
            field="role",
        )
    prefix = _new_prefix()
    # 36^8 prefixes: a repeat is rare, and the unique constraint is the last word.
    while session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is not None:
        prefix = _new_prefix()
    secret = secrets.token_urlsafe(SECRET_BYTES)
    key = ApiKey(
        prefix=prefix,
        secret_sha256=_digest(secret),
        organisation_id=organisation.id,
        role=role,
        name=name,
        created_at=datetime.now(UTC),
    )
    session.add(key)
    session.flush()
    plaintext = f"{KEY_PREFIX}_{prefix}_{secret}"
    assert KEY_PATTERN.fullmatch(plaintext), plaintext
    return key, plaintext


def _new_prefix() -> str:
    return "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_CHARS))


def revoke_api_key(session: Session, prefix: str) -> ApiKey:
    """Revoke the key with this public prefix (``thk_`` and the secret may be included; they are ignored)."""
    match = re.fullmatch(r"(?:thk_)?([a-z0-9]{8})(?:_.*)?", prefix.strip())
    if match is None:
        raise InvalidInput("give the key's 8-character prefix", field="prefix")
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
    if key is None:
        raise NotFound(f"no API key with prefix {match.group(1)}", field="prefix")
    if key.revoked_at is not None:
        raise Conflict(f"key {key.prefix} was revoked at {key.revoked_at}", field="prefix")
    key.revoked_at = datetime.now(UTC)
    session.flush()
    return key


# --- authenticating requests ---------------------------------------------------------------------------


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use 'Authorization: Bearer thk_…' with an API key", field="Authorization")
    return token.strip()


def _authenticate(token: str) -> Principal:
    match = KEY_PATTERN.fullmatch(token)
    if match is None:
        raise Unauthorized("the API key is malformed", field="Authorization")
    prefix, secret = match.groups()
    with database().reading() as session:
        row = session.execute(
            select(
                ApiKey.id,
                ApiKey.secret_sha256,
                ApiKey.name,
                ApiKey.role,
                ApiKey.organisation_id,
                ApiKey.revoked_at,
                ApiKey.last_used_at,
                Organisation.name,
            )
            .join(Organisation, Organisation.id == ApiKey.organisation_id)
            .where(ApiKey.prefix == prefix)
        ).first()
    # Compare even when the prefix is unknown, so that the answer takes the same time either way.
    stored = bytes(row[1]) if row is not None else b"\0" * 32
    if not hmac.compare_digest(stored, _digest(secret)) or row is None:
        raise Unauthorized("the API key is not valid", field="Authorization")
    key_id, _, key_name, role, organisation_id, revoked_at, last_used_at, organisation_name = row
    if revoked_at is not None:
        raise Unauthorized(f"the API key {prefix} has been revoked", field="Authorization")
    now = datetime.now(UTC)
    # Only a stale timestamp costs a write (on SQLite, the database's write lock).
    if last_used_at is None or as_utc(last_used_at) < now - LAST_USED_RESOLUTION:
        _touch(key_id, now)
    return Principal(key_id, prefix, key_name, role, organisation_id, organisation_name)


def _touch(key_id: int, now: datetime) -> None:
    with database().unit_of_work() as uow:
        uow.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
            )
            .values(last_used_at=now)
        )
        uow.commit()


def optional_principal() -> Principal | None:
    """The caller if a key was sent (a bad key is still a 401); ``None`` for an anonymous request."""
    if "tanhui_principal" not in g:
        token = _bearer_token()
        g.tanhui_principal = None if token is None else _authenticate(token)
    principal: Principal | None = g.tanhui_principal
    return principal


def require_key() -> Principal:
    """The caller, who must send a valid key of any role: 401 (field ``Authorization``) otherwise."""
    principal = optional_principal()
    if principal is None:
        raise Unauthorized(
            "this endpoint needs an API key: 'Authorization: Bearer thk_…'", field="Authorization"
        )
    return principal


def require_role(*roles: Role) -> Principal:
    """The caller, who must hold one of ``roles``: 401 without a valid key, 403 (field ``role``) otherwise."""
    assert roles, "name the roles that may call this endpoint"
    principal = require_key()
    allowed = [role.value for role in roles]
    if principal.role not in allowed:
        raise Forbidden(
            f"a {principal.role} key may not do this; it needs the role {' or '.join(allowed)}", field="role"
        )
    return principal
