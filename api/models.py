"""Tables of the API edge: API keys (stored hashed) and the responses remembered for ``Idempotency-Key``.

An API key is ``thk_<prefix>_<secret>``: the 8-character prefix is public (it names the key in logs, the
CLI and the audit trail), the secret is 256 random bits of which only the SHA-256 digest is stored. A key
belongs to one organisation and carries one role; it is revoked by setting ``revoked_at``, never deleted,
so that the audit trail's references to it stay meaningful.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.orm import Base


class ApiKey(Base):
    """A bearer key for one organisation acting in one role."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("length(secret_sha256) = 32", name="digest_length"),
        CheckConstraint("length(prefix) = 8", name="prefix_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(8), unique=True)
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # No CHECK on the role: the set of roles grows with the marketplace (enterprise_buyer,
    # event_organiser, individual); api.auth.ROLE_ORGANISATION_KINDS is the list keys are checked against.
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyRecord(Base):
    """The first successful response to a creating request, replayed when the same key is sent again."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("api_key_id", "idempotency_key"),
        CheckConstraint("response_status >= 200 AND response_status < 300", name="success_only"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    response_location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class User(Base):
    """A person who signs in to the web pages: a member of one organisation in one role, or an individual.

    Individuals (role ``individual``) belong to no organisation; every other role is held for exactly one
    organisation, of a kind that may hold it (``api.auth.ROLE_ORGANISATION_KINDS``). Users are disabled,
    never deleted, for the same reason keys are revoked: the audit trail keeps meaning.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role = 'individual' AND organisation_id IS NULL)"
            " OR (role <> 'individual' AND organisation_id IS NOT NULL)",
            name="individual_has_no_organisation",
        ),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    """werkzeug's salted scrypt hash (``scrypt:32768:8:1$salt$digest``); the password is never stored."""
    role: Mapped[str] = mapped_column(String(32))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """The last change of password; a web session signed in before it is no longer accepted."""


class SignInAttempt(Base):
    """A sign-in attempt not yet followed by a success for its address, kept for the window it counts in.

    Shared by every web process, so the limit of :mod:`web.pages.sign_in_throttle` holds across them.
    """

    __tablename__ = "sign_in_attempts"
    __table_args__ = (Index("ix_sign_in_attempts_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
